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
// Problem structs (below) say how to read A and B and where C goes; their per-thread
// "row" / "column" descriptors are computed once, outside the reduction loop.
#include <algorithm>
#include <stdexcept>

#include "kernels/conv2d_cuda.h"
#include "kernels/cuda_util.cuh"

namespace frcnn {
namespace {

constexpr int BM = 128, BN = 128, BK = 8, NT = 256;

// Kernel size known at compile time (KS = 1 or 3) or at run time (KS = 0), so the
// k -> (c, r, s) splits of the common 1x1 / 3x3 cases are multiplications.
template <int KS>
struct KDims {
  int kh, kw;
  __device__ __forceinline__ int KH() const { return KS ? KS : kh; }
  __device__ __forceinline__ int KW() const { return KS ? KS : kw; }
  __device__ __forceinline__ int KK() const { return KS ? KS * KS : kh * kw; }
};

struct Geo {
  int N, Cin, H, W, Cout, Ho, Wo, pad, stride;
};

// ---- forward: C[co][pix] = sum_k W[co][k] * Xcol[k][pix] -----------------------------
template <int KS>
struct FwdProblem {
  Geo g;
  KDims<KS> kd;
  const float* x;  // (N, Cin, H, W)
  const float* w;  // (Cout, K)
  const float* b;  // (Cout) or null
  float* y;        // (N, Cout, Ho, Wo)
  int M, Ncol, K;

  struct ARow { const float* p; };
  struct BCol { const float* base; int ih0, iw0; bool valid; };
  struct CCol { float* p; bool valid; };

  __device__ ARow a_row(int m) const { return {m < M ? w + size_t(m) * K : nullptr}; }
  __device__ float load_a(const ARow& r, int k) const { return r.p ? __ldg(r.p + k) : 0.f; }
  __device__ BCol b_col(int n) const {
    if (n >= Ncol) return {nullptr, 0, 0, false};
    int hw = g.Ho * g.Wo, img = n / hw, rem = n - img * hw, oh = rem / g.Wo, ow = rem - oh * g.Wo;
    return {x + size_t(img) * g.Cin * g.H * g.W, oh * g.stride - g.pad, ow * g.stride - g.pad, true};
  }
  __device__ float load_b(const BCol& c, int k) const {
    if (!c.valid) return 0.f;
    int ci = k / kd.KK(), rs = k - ci * kd.KK(), r = rs / kd.KW(), s = rs - r * kd.KW();
    int ih = c.ih0 + r, iw = c.iw0 + s;
    if (unsigned(ih) >= unsigned(g.H) || unsigned(iw) >= unsigned(g.W)) return 0.f;
    return __ldg(c.base + (size_t(ci) * g.H + ih) * g.W + iw);
  }
  __device__ CCol c_col(int n, int) const {
    if (n >= Ncol) return {nullptr, false};
    int hw = g.Ho * g.Wo, img = n / hw, rem = n - img * hw;
    return {y + size_t(img) * g.Cout * hw + rem, true};
  }
  __device__ void store(int m, const CCol& c, float v) const {
    if (m < M && c.valid) c.p[size_t(m) * g.Ho * g.Wo] = v + (b ? __ldg(b + m) : 0.f);
  }
};

// ---- backward-data: C[ci][pix_in] = sum_(co,r,s) W[co][ci][r][s] * dY[co][oh][ow] ------
// with oh = (ih + pad - r) / stride when that divides exactly and lands inside dY.
template <int KS>
struct BwdDataProblem {
  Geo g;
  KDims<KS> kd;
  const float* gy;  // (N, Cout, Ho, Wo)
  const float* w;   // (Cout, Cin, KH, KW)
  float* gx;        // (N, Cin, H, W)
  int M, Ncol, K;   // M = Cin, Ncol = N*H*W, K = Cout*KH*KW

  struct ARow { const float* p; };
  struct BCol { const float* base; int ihp, iwp; bool valid; };
  struct CCol { float* p; bool valid; };

  __device__ ARow a_row(int m) const { return {m < M ? w + size_t(m) * kd.KK() : nullptr}; }
  __device__ float load_a(const ARow& r, int k) const {
    if (!r.p) return 0.f;
    int co = k / kd.KK(), rs = k - co * kd.KK();
    return __ldg(r.p + size_t(co) * g.Cin * kd.KK() + rs);
  }
  __device__ BCol b_col(int n) const {
    if (n >= Ncol) return {nullptr, 0, 0, false};
    int hw = g.H * g.W, img = n / hw, rem = n - img * hw, ih = rem / g.W, iw = rem - ih * g.W;
    return {gy + size_t(img) * g.Cout * g.Ho * g.Wo, ih + g.pad, iw + g.pad, true};
  }
  __device__ float load_b(const BCol& c, int k) const {
    if (!c.valid) return 0.f;
    int co = k / kd.KK(), rs = k - co * kd.KK(), r = rs / kd.KW(), s = rs - r * kd.KW();
    int th = c.ihp - r, tw = c.iwp - s;
    if (th < 0 || tw < 0) return 0.f;
    int oh = th, ow = tw;
    if (g.stride != 1) {
      if (th % g.stride || tw % g.stride) return 0.f;
      oh = th / g.stride;
      ow = tw / g.stride;
    }
    if (oh >= g.Ho || ow >= g.Wo) return 0.f;
    return __ldg(c.base + (size_t(co) * g.Ho + oh) * g.Wo + ow);
  }
  __device__ CCol c_col(int n, int) const {
    if (n >= Ncol) return {nullptr, false};
    int hw = g.H * g.W, img = n / hw, rem = n - img * hw;
    return {gx + size_t(img) * g.Cin * hw + rem, true};
  }
  __device__ void store(int m, const CCol& c, float v) const {
    if (m < M && c.valid) c.p[size_t(m) * g.H * g.W] = v;
  }
};

// ---- backward-weight: C[co][(ci,r,s)] = sum_pix dY[co][pix] * Xcol[(ci,r,s)][pix] -----
// split-K: block z sums its own pixel range into ws[z] (M x Ncol).
template <int KS>
struct BwdWeightProblem {
  Geo g;
  KDims<KS> kd;
  const float* x;   // (N, Cin, H, W)
  const float* gy;  // (N, Cout, Ho, Wo)
  float* ws;        // (splits, Cout, Cin*KH*KW)
  int M, Ncol, K;   // M = Cout, Ncol = Cin*KH*KW, K = N*Ho*Wo

  struct ARow { const float* p; };
  struct BCol { const float* base; int r, s; bool valid; };
  struct CCol { float* p; bool valid; };

  __device__ ARow a_row(int m) const { return {m < M ? gy + size_t(m) * g.Ho * g.Wo : nullptr}; }
  __device__ float load_a(const ARow& r, int k) const {
    if (!r.p) return 0.f;
    int hw = g.Ho * g.Wo, img = k / hw, rem = k - img * hw;
    return __ldg(r.p + size_t(img) * g.Cout * hw + rem);
  }
  __device__ BCol b_col(int n) const {
    if (n >= Ncol) return {nullptr, 0, 0, false};
    int ci = n / kd.KK(), rs = n - ci * kd.KK(), r = rs / kd.KW(), s = rs - r * kd.KW();
    return {x + size_t(ci) * g.H * g.W, r, s, true};
  }
  __device__ float load_b(const BCol& c, int k) const {
    if (!c.valid) return 0.f;
    int hw = g.Ho * g.Wo, img = k / hw, rem = k - img * hw, oh = rem / g.Wo, ow = rem - oh * g.Wo;
    int ih = oh * g.stride - g.pad + c.r, iw = ow * g.stride - g.pad + c.s;
    if (unsigned(ih) >= unsigned(g.H) || unsigned(iw) >= unsigned(g.W)) return 0.f;
    return __ldg(c.base + size_t(img) * g.Cin * g.H * g.W + size_t(ih) * g.W + iw);
  }
  __device__ CCol c_col(int n, int z) const {
    if (n >= Ncol) return {nullptr, false};
    return {ws + size_t(z) * M * Ncol + n, true};
  }
  __device__ void store(int m, const CCol& c, float v) const {
    if (m < M && c.valid) c.p[size_t(m) * Ncol] = v;
  }
};

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
  for (int j = 0; j < 8; ++j) cc[j] = p.c_col(n0 + (j < 4 ? tx * 4 + j : 64 + tx * 4 + j - 4), blockIdx.z);
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    int m = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + i - 4);
#pragma unroll
    for (int j = 0; j < 8; ++j) p.store(m, cc[j], acc[i][j]);
  }
}

// gw (n) += sum_z ws[z][i], z in order (deterministic).
__global__ void splitk_reduce_kernel(const float* __restrict__ ws, float* gw, int64_t n, int splits) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    float s = 0.f;
    for (int z = 0; z < splits; ++z) s += ws[z * n + i];
    gw[i] += s;
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

Geo to_geo(const Conv2dGeom& g) {
  return {int(g.N), int(g.Cin), int(g.H), int(g.W), int(g.Cout), int(g.Ho), int(g.Wo), int(g.pad), int(g.stride)};
}

template <class P>
void launch_gemm(const P& p, int splits, int k_per_split, cudaStream_t st) {
  dim3 grid((p.Ncol + BN - 1) / BN, (p.M + BM - 1) / BM, splits);
  if (grid.y > 65535) throw std::invalid_argument("conv2d (CUDA): too many output channels for one grid");
  FRCNN_LAUNCH(conv_gemm_kernel<P>, grid, NT, 0, st, p, k_per_split);
}

template <template <int> class Prob, class Fill>
void dispatch_ks(const Conv2dGeom& g, Fill fill) {
  if (g.KH == 3 && g.KW == 3) {
    Prob<3> p{};
    fill(p);
  } else if (g.KH == 1 && g.KW == 1) {
    Prob<1> p{};
    fill(p);
  } else {
    Prob<0> p{};
    fill(p);
  }
}

int sm_count() {
  int dev = 0, sms = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  return sms;
}

}  // namespace

void conv2d_forward_cuda(const Conv2dGeom& g, const float* x, const float* w, const float* b, float* y, Stream s) {
  cudaStream_t st = cuda_stream(s);
  dispatch_ks<FwdProblem>(g, [&](auto& p) {
    p.g = to_geo(g);
    p.kd = {int(g.KH), int(g.KW)};
    p.x = x, p.w = w, p.b = b, p.y = y;
    p.M = int(g.Cout), p.Ncol = int(g.N * g.Ho * g.Wo), p.K = int(g.Cin * g.KH * g.KW);
    launch_gemm(p, 1, p.K, st);
  });
}

void conv2d_backward_data_cuda(const Conv2dGeom& g, const float* gy, const float* w, float* gx, Stream s) {
  cudaStream_t st = cuda_stream(s);
  dispatch_ks<BwdDataProblem>(g, [&](auto& p) {
    p.g = to_geo(g);
    p.kd = {int(g.KH), int(g.KW)};
    p.gy = gy, p.w = w, p.gx = gx;
    p.M = int(g.Cin), p.Ncol = int(g.N * g.H * g.W), p.K = int(g.Cout * g.KH * g.KW);
    launch_gemm(p, 1, p.K, st);
  });
}

void conv2d_backward_weight_cuda(const Conv2dGeom& g, const float* x, const float* gy, float* gw, float* gb,
                                 Stream s) {
  cudaStream_t st = cuda_stream(s);
  const int M = int(g.Cout), Ncol = int(g.Cin * g.KH * g.KW), K = int(g.N * g.Ho * g.Wo);
  // Split the pixel reduction so that the grid covers the GPU about twice, each split
  // still at least 64 k-slices long (fewer, longer splits amortise the epilogue).
  const int tiles = ((Ncol + BN - 1) / BN) * ((M + BM - 1) / BM);
  int splits = std::max(1, (2 * sm_count() + tiles - 1) / tiles);
  splits = std::min(splits, std::max(1, K / (64 * BK)));
  int k_per_split = (K + splits - 1) / splits;
  k_per_split = (k_per_split + BK - 1) / BK * BK;
  splits = (K + k_per_split - 1) / k_per_split;
  Buffer ws(sizeof(float) * size_t(splits) * M * Ncol, Device::cuda([] {
              int d = 0;
              CUDA_CHECK(cudaGetDevice(&d));
              return d;
            }()),
            s);
  dispatch_ks<BwdWeightProblem>(g, [&](auto& p) {
    p.g = to_geo(g);
    p.kd = {int(g.KH), int(g.KW)};
    p.x = x, p.gy = gy, p.ws = static_cast<float*>(ws.data());
    p.M = M, p.Ncol = Ncol, p.K = K;
    launch_gemm(p, splits, k_per_split, st);
  });
  const int64_t n = int64_t(M) * Ncol;
  FRCNN_LAUNCH(splitk_reduce_kernel, grid_stride_blocks(n), kBlockThreads, 0, st, static_cast<const float*>(ws.data()),
               gw, n, splits);
  if (gb) {
    FRCNN_LAUNCH(bias_grad_kernel, M, 256, 0, st, gy, gb, int(g.N), M, int(g.Ho * g.Wo));
  }
}

}  // namespace frcnn
