// Our own CUDA convolution: one tiled implicit-GEMM kernel template shared by the
// forward, backward-data and backward-weight passes (see conv2d.h for the mapping).
//
// Block: 256 threads compute a BM x BN = 128 x 128 tile of C; each thread an 8 x 8
// register micro-tile (two 4-wide strips per axis, so the shared-memory reads are
// float4 and conflict-free). The reduction runs in BK = 8 slices: A (BM x BK) and B
// (BK x BN) slices are gathered from global memory into registers while the previous
// slice is multiplied out of shared memory (double buffer), then stored to the other
// shared buffer. B loads walk the pixel axis with consecutive threads, so the im2col
// gather of the forward and backward-data passes is coalesced along W.
// The problems (how to read A and B, where C goes) are conv2d_problems.cuh's, shared with
// the tensor-core kernels.
#include <algorithm>
#include <stdexcept>

#include "kernels/conv2d_cuda.h"
#include "kernels/conv2d_mma_cuda.h"
#include "kernels/conv2d_problems.cuh"
#include "kernels/maxpool2d.h"

namespace frcnn {
namespace {

using namespace conv_gemm;

constexpr int BM = 128, BN = 128, BK = 8, NT = 256;

// C (M x Ncol) = A (M x K) * B (K x Ncol) over the k range of split blockIdx.z.
template <class P>
__global__ void __launch_bounds__(NT, 2) conv_gemm_kernel(P p, int k_per_split) {
  FRCNN_SHARED_ALIGNED(16, float, As, [2][BK][BM]);
  FRCNN_SHARED_ALIGNED(16, float, Bs, [2][BK][BN]);
  const int tid = threadIdx.x;
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  const int kbeg = blockIdx.z * k_per_split;
  const int kend = min(p.K, kbeg + k_per_split);

  // Loader roles: A: row tid/2, k offsets (tid%2)*4 + 0..3; B: column tid%128, k offsets tid/128 + 0,2,4,6.
  const int a_m = tid >> 1, a_k = (tid & 1) * 4;
  const int b_n = tid & (BN - 1), b_k = tid >> 7;
  const auto arow = p.a_row(m0 + a_m);
  const auto bcol = p.b_col(n0 + b_n);
  float ra[4], rb[4];

  auto gload = [&](int k0) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      int ka = k0 + a_k + i, kb = k0 + b_k + 2 * i;
      ra[i] = ka < kend ? p.load_a(arow, ka) : 0.f;
      rb[i] = kb < kend ? p.load_b(bcol, kb) : 0.f;
    }
  };
  auto sstore = [&](int buf) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      As[buf][a_k + i][a_m] = ra[i];
      Bs[buf][b_k + 2 * i][b_n] = rb[i];
    }
  };

  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;

  const int tx = tid & 15, ty = tid >> 4;
  if (kbeg < kend) {
    gload(kbeg);
    sstore(0);
    __syncthreads();
    int buf = 0;
    for (int k0 = kbeg; k0 < kend; k0 += BK) {
      const bool has_next = k0 + BK < kend;
      if (has_next) gload(k0 + BK);  // global loads in flight during the FMAs below
#pragma unroll
      for (int kk = 0; kk < BK; ++kk) {
        float a[8], b[8];
        *reinterpret_cast<float4*>(a) = *reinterpret_cast<const float4*>(&As[buf][kk][ty * 4]);
        *reinterpret_cast<float4*>(a + 4) = *reinterpret_cast<const float4*>(&As[buf][kk][64 + ty * 4]);
        *reinterpret_cast<float4*>(b) = *reinterpret_cast<const float4*>(&Bs[buf][kk][tx * 4]);
        *reinterpret_cast<float4*>(b + 4) = *reinterpret_cast<const float4*>(&Bs[buf][kk][64 + tx * 4]);
#pragma unroll
        for (int i = 0; i < 8; ++i)
#pragma unroll
          for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
      }
      if (has_next) sstore(buf ^ 1);
      __syncthreads();
      buf ^= 1;
    }
  }

  // Epilogue: thread rows ty*4 + {0..3} and 64 + ty*4 + {0..3}; columns likewise with tx.
  typename P::CCol cc[8];
#pragma unroll
  for (int j = 0; j < 8; ++j) cc[j] = p.c_col(n0 + (j < 4 ? tx * 4 + j : 64 + tx * 4 + j - 4));
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    int m = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + i - 4);
#pragma unroll
    for (int j = 0; j < 8; ++j) p.store(m, cc[j], acc[i][j]);
  }
}

// gb[co] += sum over (n, hw) of gy[n][co][hw]; one block per channel, fixed-order tree.
__global__ void bias_grad_kernel(const float* __restrict__ gy, float* gb, int N, int Cout, int HW) {
  FRCNN_SHARED(float, sm, [256]);
  const int co = blockIdx.x;
  float s = 0.f;
  for (int n = 0; n < N; ++n) {
    const float* p = gy + (size_t(n) * Cout + co) * HW;
    for (int i = threadIdx.x; i < HW; i += blockDim.x) s += p[i];
  }
  sm[threadIdx.x] = s;
  __syncthreads();
  for (int st = blockDim.x / 2; st > 0; st >>= 1) {
    if (threadIdx.x < st) sm[threadIdx.x] += sm[threadIdx.x + st];
    __syncthreads();
  }
  if (threadIdx.x == 0) gb[co] += sm[0];
}

template <class P>
void launch_gemm(const P& p, int k_per_split, cudaStream_t st) {
  const int splits = (p.K + k_per_split - 1) / k_per_split;
  dim3 grid((p.Ncol + BN - 1) / BN, (p.M + BM - 1) / BM, splits);
  if (grid.y > 65535) throw std::invalid_argument("conv2d (CUDA): too many output channels for one grid");
  FRCNN_LAUNCH(conv_gemm_kernel<P>, grid, NT, 0, st, p, k_per_split);
}

MmaFormat mma_format(MathMode m) { return m == MathMode::Bf16 ? MmaFormat::Bf16 : MmaFormat::Tf32; }

}  // namespace

void conv2d_forward_cuda(MathMode math, const Conv2dGeom& g, const ConvFwdIo& io, const float* w, const float* b,
                         bool relu, Stream s, int pool) {
  cudaStream_t st = cuda_stream(s);
  if (!io.x == !io.x16 || !io.y == !io.y16)
    throw std::invalid_argument("conv2d_forward_cuda: exactly one of x / x16 and of y / y16 must be set");
  if (pool > 1) {
    if (!relu) throw std::invalid_argument("conv2d_forward_cuda: the fused max-pool needs the fused ReLU");
    // The pooled outputs start at +0 (all-zero bits in F32 and BF16): every window holds at
    // least one ReLU'd value >= +0.
    const size_t n = size_t(g.N * g.Cout) * size_t(maxpool2d_out_size(g.Ho, pool, pool)) *
                     size_t(maxpool2d_out_size(g.Wo, pool, pool));
    if (io.y16)
      CUDA_CHECK(cudaMemsetAsync(io.y16, 0, n * sizeof(uint16_t), st));
    else
      CUDA_CHECK(cudaMemsetAsync(io.y, 0, n * sizeof(float), st));
  }
  if (math != MathMode::Fp32) return conv2d_forward_mma_cuda(mma_format(math), g, io, w, b, relu, s, pool);
  dispatch_ks<FwdProblem>(g, [&](auto& p) {
    setup(p, g, io, w, b, relu, pool);
    launch_gemm(p, p.K, st);
  });
}

void conv2d_backward_data_cuda(MathMode math, const Conv2dGeom& g, const float* gy, const float* w, float* gx,
                               Stream s) {
  if (math != MathMode::Fp32) return conv2d_backward_data_mma_cuda(mma_format(math), g, gy, w, gx, s);
  cudaStream_t st = cuda_stream(s);
  dispatch_ks<BwdDataProblem>(g, [&](auto& p) {
    setup(p, g, gy, w, gx);
    launch_gemm(p, p.K, st);
  });
}

void conv2d_backward_weight_cuda(MathMode math, const Conv2dGeom& g, const float* x, const float* gy, float* gw,
                                 float* gb, Stream s) {
  cudaStream_t st = cuda_stream(s);
  if (gb) FRCNN_LAUNCH(bias_grad_kernel, int(g.Cout), 256, 0, st, gy, gb, int(g.N), int(g.Cout), int(g.Ho * g.Wo));
  if (math != MathMode::Fp32) return conv2d_backward_weight_mma_cuda(mma_format(math), g, x, gy, gw, s);
  dispatch_ks<BwdWeightProblem>(g, [&](auto& p) {
    setup(p, g, x, gy, gw);
    // The pixel reduction is long and the grid small (M x Ncol = the weight): split it,
    // each split at least 64 k-slices long.
    const int64_t tiles = int64_t((p.Ncol + BN - 1) / BN) * ((p.M + BM - 1) / BM);
    run_split(p, choose_splits(tiles, p.K, BK, 64 * BK), s,
              [&](const auto& q, int k_per_split) { launch_gemm(q, k_per_split, st); });
  });
}

}  // namespace frcnn
