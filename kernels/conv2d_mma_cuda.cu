// Our tensor-core convolution: the implicit GEMMs of conv2d_problems.cuh (forward,
// backward-data, backward-weight) on mma.sync, TF32 (m16n8k8) or BF16 (m16n8k16) operands,
// FP32 accumulation. Every PTX instruction goes through kernels/ptx.cuh, so the emulated
// device runs this file in CI with the fragment layouts the PTX ISA documents.
//
// Block tile BM x BN x BK = 128 x 128 x 16, 256 threads = 8 warps in a 2 (M) x 4 (N) grid,
// each warp a 64 x 32 piece of C: 4 m16 x 4 n8 accumulator tiles (64 FP32 registers per
// thread). The reduction walks K in BK slices through two shared-memory stages: while the
// warps multiply stage s, every thread already holds its share of the next slice (16
// elements of A, 16 of B, gathered with the problem's im2col addressing), converts them to
// the operand format and stores them into stage s ^ 1 after the multiplies: one
// __syncthreads per slice.
//
// Loader roles: thread t owns row (A) / column (B) t % 128 and the eight k's
// 8 (t / 128) + 0..7 of the slice, so a warp walks 32 consecutive pixels of B (coalesced
// along W for the forward and backward-data gathers) and 32 consecutive rows of A.
//
// Shared-memory layouts, both free of bank conflicts for the stores and the fragment loads:
//   TF32: element (k, i) of a 16 x 128 stage at  k * 128 + (i ^ 8 (k % 4)). A fragment load
//         reads k = tig (+4), i = base + group (+8): the XOR spreads the four tig's over the
//         four 8-bank groups, so the 32 lanes hit 32 banks.
//   BF16: row i (one m or n) holds the slice's 16 k's as two 16-byte chunks; chunk c sits at
//         i * 16 + 8 (c ^ (i / 4 % 2)) elements. ldmatrix reads 8 rows of one chunk per
//         phase: the XOR makes those 8 x 16 bytes cover all 32 banks. A's four 8 x 8
//         matrices come from one ldmatrix.x4, B's for two n8 tiles from another (non-
//         transposed: the rows are n, the k's contiguous, which is the "col" B operand).
//
// Split-K (conv2d_problems.cuh) when the output grid would not fill the GPU: conv5 at
// 38 x 63 has 4 x 19 = 76 tiles for 132 SMs; split z writes a workspace, a second kernel
// sums the splits in order and applies the epilogue (bias, ReLU). Deterministic.
// Resources (sm_90, scripts/kernel_resources.sh, docs/BENCHMARKS.md): bf16 asks for two
// blocks per SM (<= 128 registers: 123 in the forward pass, no spills; the backward-data
// pass spills 64 bytes); tf32 for one (168 registers, no spills; at 128 every pass spills
// 44-136 bytes). Shared memory: 32 KB per block (tf32), 16 KB (bf16).
#include "kernels/conv2d_mma_cuda.h"
#include "kernels/conv2d_problems.cuh"
#include "kernels/ptx.cuh"

namespace frcnn {
namespace {

using namespace conv_gemm;

constexpr int TBM = 128, TBN = 128, TBK = 16, TNT = 256;
constexpr int kWarpM = 64, kWarpN = 32;  // warp tile; 2 x 4 warps
constexpr int kMTiles = kWarpM / 16, kNTiles = kWarpN / 8;

// ---- the two operand formats: shared-memory layout, store, fragment loads, mma ----------

struct Tf32Ops {
  using Elem = uint32_t;               // tf32 bits (cvt.rna)
  static constexpr int kStage = TBK * 128;  // elements of one operand stage
  static constexpr int kStep = 8;      // k per mma
  __device__ static int at(int k, int i) { return k * 128 + (i ^ ((k & 3) << 3)); }
  // v: this thread's eight k's (8 kh + 0..7) of row / column i.
  __device__ static void store(Elem* s, int i, int kh, const float v[8]) {
#pragma unroll
    for (int j = 0; j < 8; ++j) s[at(8 * kh + j, i)] = ptx::cvt_tf32(v[j]);
  }
  // A fragment of the m16 tile starting at row mb, k-step ks (0 or 8 in the slice).
  __device__ static void load_a(uint32_t a[4], const Elem* s, int mb, int ks, int lane) {
    const int group = lane / 4, tig = lane % 4;
    a[0] = s[at(ks + tig, mb + group)];
    a[1] = s[at(ks + tig, mb + group + 8)];
    a[2] = s[at(ks + tig + 4, mb + group)];
    a[3] = s[at(ks + tig + 4, mb + group + 8)];
  }
  // B fragments of the two n8 tiles starting at column nb and nb + 8.
  __device__ static void load_b2(uint32_t b[2][2], const Elem* s, int nb, int ks, int lane) {
    const int group = lane / 4, tig = lane % 4;
#pragma unroll
    for (int t = 0; t < 2; ++t) {
      b[t][0] = s[at(ks + tig, nb + 8 * t + group)];
      b[t][1] = s[at(ks + tig + 4, nb + 8 * t + group)];
    }
  }
  __device__ static void mma(float d[4], const uint32_t a[4], const uint32_t b[2]) {
    ptx::mma_m16n8k8_tf32(d, a, b, d);
  }
};

struct Bf16Ops {
  using Elem = uint16_t;               // bf16 bits (round to nearest even)
  static constexpr int kStage = 128 * TBK;
  static constexpr int kStep = 16;
  __device__ static int chunk_at(int i, int c) { return i * 16 + 8 * (c ^ ((i >> 2) & 1)); }
  __device__ static void store(Elem* s, int i, int kh, const float v[8]) {
    uint32_t w[4];
#pragma unroll
    for (int j = 0; j < 4; ++j)
      w[j] = uint32_t(ptx::bf16_round_bits(ptx::float_bits(v[2 * j]))) |
             uint32_t(ptx::bf16_round_bits(ptx::float_bits(v[2 * j + 1]))) << 16;
    *reinterpret_cast<uint4*>(s + chunk_at(i, kh)) = make_uint4(w[0], w[1], w[2], w[3]);
  }
  // ldmatrix.x4: lanes 8j..8j+7 address matrix j = (rows +8 (j % 2), k chunk j / 2), which
  // lands in a[j] exactly as the m16n8k16 A layout wants (ptx.cuh's table).
  __device__ static void load_a(uint32_t a[4], const Elem* s, int mb, int, int lane) {
    ptx::ldmatrix_x4(a, s + chunk_at(mb + (lane % 8) + 8 * ((lane / 8) % 2), lane / 16));
  }
  // ldmatrix.x4 over two n8 tiles: matrix j = (n tile j / 2, k chunk j % 2) -> b[j / 2][j % 2].
  __device__ static void load_b2(uint32_t b[2][2], const Elem* s, int nb, int, int lane) {
    uint32_t r[4];
    ptx::ldmatrix_x4(r, s + chunk_at(nb + 8 * (lane / 16) + lane % 8, (lane / 8) % 2));
    b[0][0] = r[0], b[0][1] = r[1], b[1][0] = r[2], b[1][1] = r[3];
  }
  __device__ static void mma(float d[4], const uint32_t a[4], const uint32_t b[2]) {
    ptx::mma_m16n8k16_bf16(d, a, b, d);
  }
};

// ---- the kernel -------------------------------------------------------------------------

// C (M x Ncol) = A (M x K) * B (K x Ncol) over the k range of split blockIdx.z.
// As, Bs: two stages each, Ops::kStage elements per stage.
template <class P, class Ops>
__device__ void conv_mma_body(const P& p, int k_per_split, typename Ops::Elem* As, typename Ops::Elem* Bs) {
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int m0 = blockIdx.y * TBM, n0 = blockIdx.x * TBN;
  const int kbeg = blockIdx.z * k_per_split;
  const int kend = min(p.K, kbeg + k_per_split);
  const int wm = (warp % 2) * kWarpM, wn = (warp / 2) * kWarpN;

  const int li = tid % 128, kh = tid / 128;  // loader: row / column li, k's 8 kh + 0..7
  const auto arow = p.a_row(m0 + li);
  const auto bcol = p.b_col(n0 + li);
  float ra[8], rb[8];
  auto gload = [&](int k0) {
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int k = k0 + 8 * kh + j;
      ra[j] = k < kend ? p.load_a(arow, k) : 0.f;
      rb[j] = k < kend ? p.load_b(bcol, k) : 0.f;
    }
  };
  auto sstore = [&](int stage) {
    Ops::store(As + stage * Ops::kStage, li, kh, ra);
    Ops::store(Bs + stage * Ops::kStage, li, kh, rb);
  };

  float acc[kMTiles][kNTiles][4];
#pragma unroll
  for (int i = 0; i < kMTiles; ++i)
#pragma unroll
    for (int j = 0; j < kNTiles; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.f;

  if (kbeg < kend) {
    gload(kbeg);
    sstore(0);
    __syncthreads();
    int stage = 0;
    for (int k0 = kbeg; k0 < kend; k0 += TBK) {
      const bool has_next = k0 + TBK < kend;
      if (has_next) gload(k0 + TBK);  // global loads in flight during the mma's below
      const typename Ops::Elem* as = As + stage * Ops::kStage;
      const typename Ops::Elem* bs = Bs + stage * Ops::kStage;
#pragma unroll
      for (int ks = 0; ks < TBK; ks += Ops::kStep) {
        uint32_t a[kMTiles][4], b[kNTiles][2];
#pragma unroll
        for (int i = 0; i < kMTiles; ++i) Ops::load_a(a[i], as, wm + 16 * i, ks, lane);
#pragma unroll
        for (int j = 0; j < kNTiles; j += 2) Ops::load_b2(b + j, bs, wn + 8 * j, ks, lane);
#pragma unroll
        for (int i = 0; i < kMTiles; ++i)
#pragma unroll
          for (int j = 0; j < kNTiles; ++j) Ops::mma(acc[i][j], a[i], b[j]);
      }
      if (has_next) sstore(stage ^ 1);
      __syncthreads();
      stage ^= 1;
    }
  }

  // Epilogue, per the C fragment layout: element e of tile (i, j) is row
  // wm + 16 i + group + 8 (e / 2), column wn + 8 j + 2 tig + e % 2.
  const int group = lane / 4, tig = lane % 4;
  typename P::CCol cc[kNTiles][2];
#pragma unroll
  for (int j = 0; j < kNTiles; ++j)
#pragma unroll
    for (int c = 0; c < 2; ++c) cc[j][c] = p.c_col(n0 + wn + 8 * j + 2 * tig + c);
#pragma unroll
  for (int i = 0; i < kMTiles; ++i)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int m = m0 + wm + 16 * i + group + 8 * (e / 2);
#pragma unroll
      for (int j = 0; j < kNTiles; ++j) p.store(m, cc[j][e % 2], acc[i][j][e]);
    }
}

template <class P>
__global__ void __launch_bounds__(TNT, 1) conv_mma_tf32_kernel(P p, int k_per_split) {
  FRCNN_SHARED_ALIGNED(16, uint32_t, As, [2 * Tf32Ops::kStage]);
  FRCNN_SHARED_ALIGNED(16, uint32_t, Bs, [2 * Tf32Ops::kStage]);
  conv_mma_body<P, Tf32Ops>(p, k_per_split, As, Bs);
}

template <class P>
__global__ void __launch_bounds__(TNT, 2) conv_mma_bf16_kernel(P p, int k_per_split) {
  FRCNN_SHARED_ALIGNED(16, uint16_t, As, [2 * Bf16Ops::kStage]);
  FRCNN_SHARED_ALIGNED(16, uint16_t, Bs, [2 * Bf16Ops::kStage]);
  conv_mma_body<P, Bf16Ops>(p, k_per_split, As, Bs);
}

template <class P>
void launch_mma(MmaFormat f, const P& p, int k_per_split, cudaStream_t st) {
  const int splits = (p.K + k_per_split - 1) / k_per_split;
  dim3 grid((p.Ncol + TBN - 1) / TBN, (p.M + TBM - 1) / TBM, splits);
  if (grid.y > 65535) throw std::invalid_argument("conv2d (CUDA, tensor cores): too many output rows for one grid");
  if (f == MmaFormat::Tf32)
    FRCNN_LAUNCH(conv_mma_tf32_kernel<P>, grid, TNT, 0, st, p, k_per_split);
  else
    FRCNN_LAUNCH(conv_mma_bf16_kernel<P>, grid, TNT, 0, st, p, k_per_split);
}

// Split when the output grid is small and each split keeps at least 32 slices (512 k).
template <class P>
void run(MmaFormat f, const P& p, Stream s) {
  const int64_t tiles = int64_t((p.Ncol + TBN - 1) / TBN) * ((p.M + TBM - 1) / TBM);
  run_split(p, choose_splits(tiles, p.K, TBK, 32 * TBK), s,
            [&](const auto& q, int k_per_split) { launch_mma(f, q, k_per_split, cuda_stream(s)); });
}

}  // namespace

void conv2d_forward_mma_cuda(MmaFormat f, const Conv2dGeom& g, const float* x, const float* w, const float* b,
                             bool relu, float* y, Stream s) {
  dispatch_ks<FwdProblem>(g, [&](auto& p) {
    setup(p, g, x, w, b, relu, y);
    run(f, p, s);
  });
}

void conv2d_backward_data_mma_cuda(MmaFormat f, const Conv2dGeom& g, const float* gy, const float* w, float* gx,
                                   Stream s) {
  dispatch_ks<BwdDataProblem>(g, [&](auto& p) {
    setup(p, g, gy, w, gx);
    run(f, p, s);
  });
}

void conv2d_backward_weight_mma_cuda(MmaFormat f, const Conv2dGeom& g, const float* x, const float* gy, float* gw,
                                     Stream s) {
  dispatch_ks<BwdWeightProblem>(g, [&](auto& p) {
    setup(p, g, x, gy, gw);
    run(f, p, s);
  });
}

}  // namespace frcnn
