// Our tensor-core convolution: the implicit GEMMs of conv2d_problems.cuh (forward,
// backward-data, backward-weight) on mma.sync, TF32 (m16n8k8) or BF16 (m16n8k16) operands,
// FP32 accumulation. Every PTX instruction goes through kernels/ptx.cuh, so the emulated
// device runs this file in CI with the fragment layouts the PTX ISA documents.
//
// Block tile BM x BN x BK = BM x 128 x 16 with BM = 128, or 64 where M <= 64 (Tile), 256
// threads = 8 warps in a 2 (M) x 4 (N) grid, each warp a (BM / 2) x 32 piece of C: BM / 32
// m16 x 4 n8 accumulator tiles (64 FP32 registers per thread at BM = 128).
//
// Pipeline: kStages = 4 shared-memory stages filled by cp.async, global -> shared with no
// register round trip, so three slices (48 k) are in flight while the warps multiply the
// fourth. Per slice: wait for its group, one __syncthreads (the slice has landed for every
// thread, and every warp is done with the stage the next copies overwrite), issue the copies
// of the slice kStages - 1 ahead, commit, multiply. The stages hold FP32 values (the operands
// as they are in memory, or a BF16 x widened); each warp rounds its fragments to
// TF32 (cvt.rna.tf32) or packs them to BF16 pairs (cvt.rn.bf16x2) in registers after the
// shared-memory load, as CUTLASS does for FP32 operands.
//
// Copies: B (the im2col gather) one 4-byte cp.async per element, zero-filled outside the
// image: thread t owns column t % 128 and the k's 8 (t / 128) + 0..7 of the slice, so a warp
// copies 32 consecutive pixels (coalesced along W). A one 4-byte copy per element too
// (thread t: row t % BM, consecutive k's), or, where its rows are contiguous and 16-byte
// aligned along k (the forward pass's weights when K % 4 == 0, backward-weight's dY when
// Ho * Wo % 4 == 0), one 16-byte cp.async per four k's (thread t: row t / 4 (+ 64), chunk
// t % 4; a warp reads 8 whole 64-byte row slices). A BF16 x (the forward's inference
// activations, conv2d.h) has no 2-byte cp.async: its B elements are plain loads widened into
// the stage by ordinary stores, which the barrier kStages - 1 slices before their use
// publishes as it does the asynchronous copies.
//
// Shared-memory layouts (words), free of bank conflicts for the fragment loads:
//   A stage (BM x 16, k contiguous): (m, k) at m * 16 + 4 ((k / 4) ^ sw(m)) + k % 4 with
//     sw(m) = 2 (m / 2 % 2) + (m / 4 % 2): the 16-byte chunks of the eight rows a fragment
//     load touches are spread over the four chunk positions (TF32: ldmatrix.x4, each 8 x 16-
//     byte matrix on 32 banks; BF16: 8-byte pair loads, each half-warp on 32 banks).
//   B stage (16 x 128, n contiguous): (k, n) at k * 128 + (n ^ 8 ((k >> s) % 4)), s = 0 for
//     TF32 (a fragment load reads k = tig) and 1 for BF16 (k = 2 tig, 2 tig + 1).
//   16 KB per stage at BM = 128 (12 KB at 64), 64 KB (48 KB) for the four: dynamic shared
//   memory, opted in once per device before the first launch.
//
// Epilogue: the accumulators go through shared memory (the stages' space, after the last
// slice) as a BM x 128 tile, (m, n) at m * 128 + (n ^ 8 (m % 4)) (the warps' float2 stores
// without conflicts); then thread t stores column t % 128 of rows t / 128 + 2 i through the
// problem's epilogue (bias, ReLU, +=, or the fused inference max-pool's atomicMax), so a warp
// writes 32 consecutive pixels of one channel (or 32 consecutive weights, or workspace
// elements): coalesced.
//
// Split-K (conv2d_problems.cuh) when the output grid would not fill the GPU: conv5 at
// 38 x 63 has 4 x 19 = 76 tiles for 132 SMs; split z writes a workspace, a second kernel
// sums the splits in order and applies the epilogue (bias, ReLU). Deterministic.
// Resources (sm_90, scripts/kernel_resources.sh, docs/BENCHMARKS.md): both formats ask for two
// blocks per SM (__launch_bounds__(256, 2), <= 128 registers); 64 KB of shared memory lets
// three blocks share an SM (per-instance registers and spills: docs/BENCHMARKS.md).
#include <mutex>
#include <set>
#include <type_traits>

#include "engine/shared_memory.cuh"
#include "kernels/conv2d_mma_cuda.h"
#include "kernels/conv2d_problems.cuh"
#include "kernels/ptx.cuh"

namespace frcnn {
namespace {

using namespace conv_gemm;

constexpr int TBN = 128, TBK = 16, TNT = 256, kStages = 4;
constexpr int kWarpN = 32, kNTiles = kWarpN / 8;  // 2 (M) x 4 (N) warps

// The block tile's height, per shape class: BM = 128 rows of C (output or input channels),
// or 64 where M <= 64 (conv1_x's 64 channels, the RPN's 1x1 heads with 18 and 36), which a
// 128-row tile would leave half (or more) idle. The warp tile is (BM / 2) x 32.
template <int BM>
struct Tile {
  static constexpr int kWarpM = BM / 2, kMTiles = kWarpM / 16;
  static constexpr int kAFloats = BM * TBK, kStageFloats = kAFloats + TBK * TBN;
  static constexpr int kAPerThread = kAFloats / TNT;      // element copies of A per slice
  static constexpr int kAVecPerThread = kAFloats / 4 / TNT;  // 16-byte copies of A per slice
  static constexpr size_t kSmemBytes = sizeof(float) * kStages * kStageFloats;  // 64 / 48 KB
  static_assert(BM * TBN <= kStages * kStageFloats, "the C tile reuses the stages");
};
constexpr size_t kMaxSmemBytes = Tile<128>::kSmemBytes;

// ---- shared-memory layouts (see the top of the file) -------------------------------------

__device__ __forceinline__ int a_at(int m, int k) {
  const int sw = ((m >> 1) & 1) << 1 | ((m >> 2) & 1);
  return m * TBK + 4 * ((k >> 2) ^ sw) + (k & 3);
}
template <int S>
__device__ __forceinline__ int b_at(int k, int n) { return k * TBN + (n ^ (((k >> S) & 3) << 3)); }
__device__ __forceinline__ int c_at(int m, int n) { return m * TBN + (n ^ ((m & 3) << 3)); }

// ---- the two operand formats: fragment loads (with the rounding) and the mma ----------------

struct Tf32Ops {
  static constexpr int kStep = 8;    // k per mma
  static constexpr int kBShift = 0;  // B layout: k = tig per fragment load
  // A fragment of the m16 tile starting at row mb, k-step ks, with one ldmatrix.x4: an 8 x 8
  // b16 matrix is 8 rows of 16 bytes, i.e. 8 rows x 4 FP32 k's (one chunk of the A layout),
  // and lane L receives word L % 4 of row L / 4, which is (group, tig). Lanes 8j..8j+7 address
  // matrix j = rows mb + 8 (j % 2) + 0..7, chunk (ks / 4) + j / 2, so that w[j] is a[j] of
  // the m16n8k8 layout: (group, tig), (group + 8, tig), (group, tig + 4), (group + 8, tig + 4).
  // The eight rows of one matrix sit in eight different bank quarters (the XOR of a_at).
  __device__ static void load_a(uint32_t a[4], const float* s, int mb, int ks, int lane) {
    const int j = lane / 8;
    uint32_t w[4];
    ptx::ldmatrix_x4(w, s + a_at(mb + lane % 8 + 8 * (j % 2), ks + 4 * (j / 2)));
#pragma unroll
    for (int e = 0; e < 4; ++e) a[e] = ptx::cvt_tf32(ptx::bits_float(w[e]));
  }
  // B fragments of the two n8 tiles starting at column nb and nb + 8.
  __device__ static void load_b2(uint32_t b[2][2], const float* s, int nb, int ks, int lane) {
    const int group = lane / 4, tig = lane % 4;
#pragma unroll
    for (int t = 0; t < 2; ++t) {
      b[t][0] = ptx::cvt_tf32(s[b_at<kBShift>(ks + tig, nb + 8 * t + group)]);
      b[t][1] = ptx::cvt_tf32(s[b_at<kBShift>(ks + tig + 4, nb + 8 * t + group)]);
    }
  }
  __device__ static void mma(float d[4], const uint32_t a[4], const uint32_t b[2]) {
    ptx::mma_m16n8k8_tf32(d, a, b, d);
  }
};

struct Bf16Ops {
  static constexpr int kStep = 16;
  static constexpr int kBShift = 1;  // B layout: k = 2 tig, 2 tig + 1 per fragment load
  __device__ static uint32_t pair_a(const float* s, int m, int k) {
    const float2 v = *reinterpret_cast<const float2*>(s + a_at(m, k));  // k even: 8-byte aligned
    return ptx::cvt_bf16x2(v.x, v.y);
  }
  __device__ static void load_a(uint32_t a[4], const float* s, int mb, int ks, int lane) {
    const int group = lane / 4, k = ks + 2 * (lane % 4);
    a[0] = pair_a(s, mb + group, k);
    a[1] = pair_a(s, mb + group + 8, k);
    a[2] = pair_a(s, mb + group, k + 8);
    a[3] = pair_a(s, mb + group + 8, k + 8);
  }
  __device__ static void load_b2(uint32_t b[2][2], const float* s, int nb, int ks, int lane) {
    const int group = lane / 4, k = ks + 2 * (lane % 4);
#pragma unroll
    for (int t = 0; t < 2; ++t) {
      const int n = nb + 8 * t + group;
      b[t][0] = ptx::cvt_bf16x2(s[b_at<kBShift>(k, n)], s[b_at<kBShift>(k + 1, n)]);
      b[t][1] = ptx::cvt_bf16x2(s[b_at<kBShift>(k + 8, n)], s[b_at<kBShift>(k + 9, n)]);
    }
  }
  __device__ static void mma(float d[4], const uint32_t a[4], const uint32_t b[2]) {
    ptx::mma_m16n8k16_bf16(d, a, b, d);
  }
};

// ---- the kernel -------------------------------------------------------------------------

// C (M x Ncol) = A (M x K) * B (K x Ncol) over the k range of split blockIdx.z;
// smem: Tile<BM>::kSmemBytes (the stages, then the C tile).
template <class P, class Ops, int BM>
__device__ void conv_mma_body(const P& p, int k_per_split, float* smem) {
  using T = Tile<BM>;
  constexpr int kMTiles = T::kMTiles, kAFloats = T::kAFloats, kStageFloats = T::kStageFloats;
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * TBN;
  const int kbeg = blockIdx.z * k_per_split;
  const int kend = min(p.K, kbeg + k_per_split);
  const int slices = kbeg < kend ? (kend - kbeg + TBK - 1) / TBK : 0;
  const int wm = (warp % 2) * T::kWarpM, wn = (warp / 2) * kWarpN;

  const int li = tid % 128, kh = tid / 128;  // B copies: column li, k's 8 kh + 0..7
  const auto bcol = p.b_col(n0 + li);
  // A's element copies: row tid % BM, k's kAPerThread (tid / BM) + 0.. (one row per thread:
  // rows of 16 k's per thread, tried, kept eight row addresses live and spilled 16-112 bytes
  // at 128 rows); its 16-byte copies (a_vec): rows tid / 4 (+ 64), chunk tid % 4. A's row
  // descriptors are one multiply each, so issue() recomputes them (kept live they cost
  // registers: measured, the bf16 forward spilled 76-92 bytes at 128 registers); B's hold
  // divisions and stay.
  const int ai = tid % BM, ak = T::kAPerThread * (tid / BM);
  const int vm = tid / 4, vc = tid % 4;
  const float* fill = p.fill_src();

  auto issue = [&](int stage, int k0) {
    float* as = smem + stage * kStageFloats;
    float* bs = as + kAFloats;
    bool a_done = false;
    if constexpr (P::kAVec) {
      if (p.a_vec) {
        const int k = k0 + 4 * vc;
#pragma unroll
        for (int r = 0; r < T::kAVecPerThread; ++r) {
          const float* q = k < kend ? p.a_ptr(p.a_row(m0 + vm + 64 * r), k) : nullptr;
          ptx::cp_async_16_zfill(as + a_at(vm + 64 * r, 4 * vc), q ? q : fill, q != nullptr);
        }
        a_done = true;
      }
    }
    if (!a_done) {
      const auto arow = p.a_row(m0 + ai);
#pragma unroll
      for (int j = 0; j < T::kAPerThread; ++j) {
        const int k = k0 + ak + j;
        const float* q = k < kend ? p.a_ptr(arow, k) : nullptr;
        ptx::cp_async_4_zfill(as + a_at(ai, ak + j), q ? q : fill, q != nullptr);
      }
    }
    if constexpr (P::kB16) {
      if (p.x16) {
        // BF16 x: no 2-byte cp.async exists, so these are loads widened (exactly) into the
        // stage by plain stores; the stage is read kStages - 1 slices later, after the
        // barriers of the slices between, as the asynchronous copies are.
#pragma unroll 2
        for (int j = 0; j < 8; ++j) {
          const int kk = 8 * kh + j, k = k0 + kk;
          bs[b_at<Ops::kBShift>(kk, li)] = k < kend ? p.load_b(bcol, k) : 0.f;
        }
        return;
      }
    }
#pragma unroll 2
    for (int j = 0; j < 8; ++j) {
      const int kk = 8 * kh + j, k = k0 + kk;
      const float* q = k < kend ? p.b_ptr(bcol, k) : nullptr;
      ptx::cp_async_4_zfill(bs + b_at<Ops::kBShift>(kk, li), q ? q : fill, q != nullptr);
    }
  };

  float acc[kMTiles][kNTiles][4];
#pragma unroll
  for (int i = 0; i < kMTiles; ++i)
#pragma unroll
    for (int j = 0; j < kNTiles; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.f;

  // Prologue: slices 0 .. kStages - 2 in flight, one commit group each (empty past the end,
  // so that "slice s landed" is always "at most kStages - 2 groups pending").
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < slices) issue(s, kbeg + s * TBK);
    ptx::cp_async_commit();
  }
  for (int it = 0; it < slices; ++it) {
    ptx::cp_async_wait<kStages - 2>();  // this thread's copies of slice `it` have landed
    __syncthreads();                    // everyone's have; stage (it - 1) % kStages is free
    const int ahead = it + kStages - 1;
    if (ahead < slices) issue(ahead % kStages, kbeg + ahead * TBK);
    ptx::cp_async_commit();
    const float* as = smem + (it % kStages) * kStageFloats;
    const float* bs = as + kAFloats;
#pragma unroll 1
    for (int ks = 0; ks < TBK; ks += Ops::kStep) {
      // B's four fragments stay in registers, A's one m16 tile at a time (fewer live
      // registers than all of A: 12 instead of 24 next to the 64 accumulators).
      uint32_t b[kNTiles][2];
#pragma unroll
      for (int j = 0; j < kNTiles; j += 2) Ops::load_b2(b + j, bs, wn + 8 * j, ks, lane);
#pragma unroll
      for (int i = 0; i < kMTiles; ++i) {
        uint32_t a[4];
        Ops::load_a(a, as, wm + 16 * i, ks, lane);
#pragma unroll
        for (int j = 0; j < kNTiles; ++j) Ops::mma(acc[i][j], a, b[j]);
      }
    }
  }
  ptx::cp_async_wait<0>();  // only empty groups remain; nothing may land on the C tile
  __syncthreads();          // every warp is done with the stages

  // Epilogue. The C fragment layout: element e of tile (i, j) is row
  // wm + 16 i + group + 8 (e / 2), column wn + 8 j + 2 tig + e % 2; pairs e = 2h, 2h + 1 are
  // adjacent columns (one float2 store; the XOR keeps them adjacent).
  const int group = lane / 4, tig = lane % 4;
  float* cs = smem;
#pragma unroll
  for (int i = 0; i < kMTiles; ++i)
#pragma unroll
    for (int j = 0; j < kNTiles; ++j)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int m = wm + 16 * i + group + 8 * h, n = wn + 8 * j + 2 * tig;
        *reinterpret_cast<float2*>(cs + c_at(m, n)) = make_float2(acc[i][j][2 * h], acc[i][j][2 * h + 1]);
      }
  __syncthreads();
  const auto cc = p.c_col(n0 + li);
#pragma unroll 4
  for (int m = kh; m < BM; m += 2) p.store(m0 + m, cc, cs[c_at(m, li)]);
}

template <class P, int BM>
__global__ void __launch_bounds__(TNT, 2) conv_mma_tf32_kernel(P p, int k_per_split) {
  conv_mma_body<P, Tf32Ops, BM>(p, k_per_split, dynamic_shared<float>());
}

template <class P, int BM>
__global__ void __launch_bounds__(TNT, 2) conv_mma_bf16_kernel(P p, int k_per_split) {
  conv_mma_body<P, Bf16Ops, BM>(p, k_per_split, dynamic_shared<float>());
}

// 64 KB of dynamic shared memory is above the default 48 KB: each kernel opts in once per
// device (the attribute is per device), before its first launch; later launches, a graph
// capture among them, make no API call.
template <auto Kernel>
void allow_smem() {
  static std::mutex mu;
  static std::set<int> devices;
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  std::lock_guard<std::mutex> lock(mu);
  if (devices.count(dev)) return;
  CUDA_CHECK(cudaFuncSetAttribute(Kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(kMaxSmemBytes)));
  devices.insert(dev);
}

template <int BM, class P>
void launch_mma(MmaFormat f, const P& p, int k_per_split, cudaStream_t st) {
  const int splits = (p.K + k_per_split - 1) / k_per_split;
  dim3 grid((p.Ncol + TBN - 1) / TBN, (p.M + BM - 1) / BM, splits);
  if (grid.y > 65535) throw std::invalid_argument("conv2d (CUDA, tensor cores): too many output rows for one grid");
  constexpr size_t smem = Tile<BM>::kSmemBytes;
  if (f == MmaFormat::Tf32) {
    allow_smem<conv_mma_tf32_kernel<P, BM>>();
    FRCNN_LAUNCH((conv_mma_tf32_kernel<P, BM>), grid, TNT, smem, st, p, k_per_split);
  } else {
    allow_smem<conv_mma_bf16_kernel<P, BM>>();
    FRCNN_LAUNCH((conv_mma_bf16_kernel<P, BM>), grid, TNT, smem, st, p, k_per_split);
  }
}

template <int BM>
constexpr int64_t tiles_of(int M, int Ncol) { return int64_t((Ncol + TBN - 1) / TBN) * ((M + BM - 1) / BM); }

// The tile height by M (see Tile); split when the output grid is small and each split keeps
// at least 32 slices (512 k).
template <class P>
void run(MmaFormat f, const P& p, Stream s) {
  auto go = [&](auto bm) {
    constexpr int BM = decltype(bm)::value;
    run_split(p, choose_splits(tiles_of<BM>(p.M, p.Ncol), p.K, TBK, 32 * TBK), s,
              [&](const auto& q, int k_per_split) { launch_mma<BM>(f, q, k_per_split, cuda_stream(s)); });
  };
  if (p.M <= 64)
    go(std::integral_constant<int, 64>{});
  else
    go(std::integral_constant<int, 128>{});
}

}  // namespace

void conv2d_forward_mma_cuda(MmaFormat f, const Conv2dGeom& g, const ConvFwdIo& io, const float* w, const float* b,
                             bool relu, Stream s, int pool) {
  dispatch_ks<FwdProblem>(g, [&](auto& p) {
    setup(p, g, io, w, b, relu, pool);
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
