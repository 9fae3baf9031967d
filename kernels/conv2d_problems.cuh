// The three convolution passes as implicit GEMMs, C (M x Ncol) = A (M x K) * B (K x Ncol),
// shared by our FP32 SIMT kernel (conv2d_cuda.cu) and the tensor-core kernels
// (conv2d_mma_cuda.cu); include only from *.cu.
//
// A problem says how to read one element of A and B and where an element of C goes:
//   a_row(m) / b_col(n) / c_col(n)  per-thread descriptors, computed once outside the
//                                   reduction loop (the divisions happen there)
//   a_ptr(row, k), b_ptr(col, k)    the address of one element, null where it is 0 (outside
//                                   the image / the matrix): what cp.async copies
//   load_a(row, k), load_b(col, k)  the element itself (0 where the address is null)
//   store(m, col, v)                the epilogue for one element of C
//   fill_src()                      some valid global address (the source a zero-filling
//                                   cp.async names; it reads nothing)
// and, where kAVec is true, a_vec: A's rows are contiguous along k and 16-byte aligned at
// every k % 4 == 0, so a_ptr(row, k) starts four elements one cp.async can copy (forward:
// K % 4 == 0; backward-weight: Ho * Wo % 4 == 0, so four k's never straddle two images).
// A kernel only needs M, Ncol, K and these. SplitK<P> wraps any problem so that split z
// of a split reduction writes its partial C to a workspace; splitk_epilogue_kernel then
// sums the splits in a fixed order and hands each sum to P's own store (deterministic:
// no atomics anywhere).
//
//   pass             M      Ncol         K             A            B             C
//   forward          Cout   N*Ho*Wo      Cin*KH*KW     w            im2col(x)     y (+ bias, ReLU)
//   backward-data    Cin    N*H*W        Cout*KH*KW    w^T          col(dy)       dx
//   backward-weight  Cout   Cin*KH*KW    N*Ho*Wo       dy           im2col(x)^T   dw (+=)
#pragma once
#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include "kernels/conv2d.h"
#include "kernels/conv2d_cuda.h"
#include "kernels/cuda_util.cuh"
#include "kernels/maxpool2d.h"
#include "kernels/tensor_formats.h"

namespace frcnn::conv_gemm {

__device__ __forceinline__ float ldg_or_zero(const float* q) { return q ? __ldg(q) : 0.f; }

// *a = max(*a, v) for BF16 bits of non-negative values (which order as unsigned integers),
// by a compare-and-swap of the aligned 32-bit word that holds *a; the first guess is the
// zeroed start, so an uncontended output costs one CAS.
__device__ __forceinline__ void atomic_max_bf16_nonneg(uint16_t* a, uint16_t v) {
  auto* word = reinterpret_cast<unsigned*>(reinterpret_cast<uintptr_t>(a) & ~uintptr_t(3));
  const int shift = (reinterpret_cast<uintptr_t>(a) & 2) ? 16 : 0;
  unsigned assumed = 0u;
  while (((assumed >> shift) & 0xFFFFu) < v) {
    const unsigned next = (assumed & ~(0xFFFFu << shift)) | (unsigned(v) << shift);
    const unsigned old = atomicCAS(word, assumed, next);
    if (old == assumed) return;
    assumed = old;
  }
}

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
  // The activations: F32 (x, y) or BF16 bits (x16, y16), the other pointer null. A BF16 x
  // is widened as it is read (exact), a BF16 y rounded to nearest even as it is written.
  const float* x;       // (N, Cin, H, W)
  const uint16_t* x16;  // the same in BF16
  const float* w;       // (Cout, K)
  const float* b;       // (Cout) or null
  float* y;             // (N, Cout, Ho, Wo), or (N, Cout, Hp, Wp) when pooling
  uint16_t* y16;        // the same in BF16
  int M, Ncol, K;
  bool relu;       // fused epilogue: y = max(conv + b, 0)
  // pool > 1: y is max_pool(relu(conv + b)) with kernel = stride = pool (non-overlapping
  // windows, Caffe's ceil rounding: Hp = ceil(Ho / pool)); y starts at zero and every
  // output takes its window's maximum with an atomicMax on the bits, which orders
  // non-negative floats as integers: exact and independent of the order (deterministic).
  // In BF16 the same on the rounded values (rounding is monotonic, so the maximum of the
  // rounded values is the rounded maximum).
  int pool, Hp, Wp;
  int plane;       // elements between two channels of y: Ho * Wo, or Hp * Wp when pooling
  bool a_vec;      // K % 4 == 0 and w 16-byte aligned (setup)
  static constexpr bool kAVec = true;
  static constexpr bool kB16 = true;  // B may be BF16 (x16): the kernels then load it themselves

  struct ARow { const float* p; };
  struct BCol { size_t base; int ih0, iw0; bool valid; };  // base: x's offset of the image
  struct CCol { size_t at; bool valid; };                  // y's offset of the column

  __device__ const float* fill_src() const { return w; }
  __device__ ARow a_row(int m) const { return {m < M ? w + size_t(m) * K : nullptr}; }
  __device__ const float* a_ptr(const ARow& r, int k) const { return r.p ? r.p + k : nullptr; }
  __device__ float load_a(const ARow& r, int k) const { return ldg_or_zero(a_ptr(r, k)); }
  __device__ BCol b_col(int n) const {
    if (n >= Ncol) return {0, 0, 0, false};
    int hw = g.Ho * g.Wo, img = n / hw, rem = n - img * hw, oh = rem / g.Wo, ow = rem - oh * g.Wo;
    return {size_t(img) * g.Cin * g.H * g.W, oh * g.stride - g.pad, ow * g.stride - g.pad, true};
  }
  // x's offset of B[k][column c], or -1 in the zero padding / past the end.
  __device__ int64_t b_off(const BCol& c, int k) const {
    if (!c.valid) return -1;
    int ci = k / kd.KK(), rs = k - ci * kd.KK(), r = rs / kd.KW(), s = rs - r * kd.KW();
    int ih = c.ih0 + r, iw = c.iw0 + s;
    if (unsigned(ih) >= unsigned(g.H) || unsigned(iw) >= unsigned(g.W)) return -1;
    return int64_t(c.base + (size_t(ci) * g.H + ih) * g.W + iw);
  }
  // F32 x only (what cp.async copies); with a BF16 x the kernels use load_b.
  __device__ const float* b_ptr(const BCol& c, int k) const {
    const int64_t o = b_off(c, k);
    return o < 0 ? nullptr : x + o;
  }
  __device__ float load_b(const BCol& c, int k) const {
    const int64_t o = b_off(c, k);
    if (o < 0) return 0.f;
    return x16 ? ptx::bf16_bits_float(__ldg(x16 + o)) : __ldg(x + o);
  }
  __device__ CCol c_col(int n) const {
    if (n >= Ncol) return {0, false};
    int hw = g.Ho * g.Wo, img = n / hw, rem = n - img * hw;
    if (pool > 1) {
      const int oh = rem / g.Wo, ow = rem - oh * g.Wo;
      return {size_t(img) * g.Cout * plane + (oh / pool) * Wp + ow / pool, true};
    }
    return {size_t(img) * g.Cout * hw + rem, true};
  }
  __device__ void store(int m, const CCol& c, float v) const {
    if (!(m < M && c.valid)) return;
    v += b ? __ldg(b + m) : 0.f;
    const size_t at = c.at + size_t(m) * plane;
    if (pool > 1) {
      // ReLU as v > 0 ? v : +0 (so -0 and NaN, which fmaxf also maps to 0, become +0 bits)
      const float r = v > 0.f ? v : 0.f;
      if (y16)
        atomic_max_bf16_nonneg(y16 + at, ptx::bf16_round_bits(ptx::float_bits(r)));
      else
        atomicMax(reinterpret_cast<unsigned*>(y + at), __float_as_uint(r));
      return;
    }
    const float r = relu ? fmaxf(v, 0.f) : v;
    if (y16)
      y16[at] = ptx::bf16_round_bits(ptx::float_bits(r));
    else
      y[at] = r;
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
  static constexpr bool kAVec = false, a_vec = false, kB16 = false;

  struct ARow { const float* p; };
  struct BCol { const float* base; int ihp, iwp; bool valid; };
  struct CCol { float* p; bool valid; };

  __device__ const float* fill_src() const { return w; }
  __device__ ARow a_row(int m) const { return {m < M ? w + size_t(m) * kd.KK() : nullptr}; }
  __device__ const float* a_ptr(const ARow& r, int k) const {
    if (!r.p) return nullptr;
    int co = k / kd.KK(), rs = k - co * kd.KK();
    return r.p + size_t(co) * g.Cin * kd.KK() + rs;
  }
  __device__ float load_a(const ARow& r, int k) const { return ldg_or_zero(a_ptr(r, k)); }
  __device__ BCol b_col(int n) const {
    if (n >= Ncol) return {nullptr, 0, 0, false};
    int hw = g.H * g.W, img = n / hw, rem = n - img * hw, ih = rem / g.W, iw = rem - ih * g.W;
    return {gy + size_t(img) * g.Cout * g.Ho * g.Wo, ih + g.pad, iw + g.pad, true};
  }
  __device__ const float* b_ptr(const BCol& c, int k) const {
    if (!c.valid) return nullptr;
    int co = k / kd.KK(), rs = k - co * kd.KK(), r = rs / kd.KW(), s = rs - r * kd.KW();
    int th = c.ihp - r, tw = c.iwp - s;
    if (th < 0 || tw < 0) return nullptr;
    int oh = th, ow = tw;
    if (g.stride != 1) {
      if (th % g.stride || tw % g.stride) return nullptr;
      oh = th / g.stride;
      ow = tw / g.stride;
    }
    if (oh >= g.Ho || ow >= g.Wo) return nullptr;
    return c.base + (size_t(co) * g.Ho + oh) * g.Wo + ow;
  }
  __device__ float load_b(const BCol& c, int k) const { return ldg_or_zero(b_ptr(c, k)); }
  __device__ CCol c_col(int n) const {
    if (n >= Ncol) return {nullptr, false};
    int hw = g.H * g.W, img = n / hw, rem = n - img * hw;
    return {gx + size_t(img) * g.Cin * hw + rem, true};
  }
  __device__ void store(int m, const CCol& c, float v) const {
    if (m < M && c.valid) c.p[size_t(m) * g.H * g.W] = v;
  }
};

// ---- backward-weight: C[co][(ci,r,s)] = sum_pix dY[co][pix] * Xcol[(ci,r,s)][pix] -----
// C is added to gw (the gradient accumulates).
template <int KS>
struct BwdWeightProblem {
  Geo g;
  KDims<KS> kd;
  const float* x;   // (N, Cin, H, W)
  const float* gy;  // (N, Cout, Ho, Wo)
  float* gw;        // (Cout, Cin*KH*KW), +=
  int M, Ncol, K;   // M = Cout, Ncol = Cin*KH*KW, K = N*Ho*Wo
  bool a_vec;       // Ho * Wo % 4 == 0 and gy 16-byte aligned (setup)
  static constexpr bool kAVec = true, kB16 = false;

  struct ARow { const float* p; };
  struct BCol { const float* base; int r, s; bool valid; };
  struct CCol { float* p; bool valid; };

  __device__ const float* fill_src() const { return gy; }
  __device__ ARow a_row(int m) const { return {m < M ? gy + size_t(m) * g.Ho * g.Wo : nullptr}; }
  __device__ const float* a_ptr(const ARow& r, int k) const {
    if (!r.p) return nullptr;
    int hw = g.Ho * g.Wo, img = k / hw, rem = k - img * hw;
    return r.p + size_t(img) * g.Cout * hw + rem;
  }
  __device__ float load_a(const ARow& r, int k) const { return ldg_or_zero(a_ptr(r, k)); }
  __device__ BCol b_col(int n) const {
    if (n >= Ncol) return {nullptr, 0, 0, false};
    int ci = n / kd.KK(), rs = n - ci * kd.KK(), r = rs / kd.KW(), s = rs - r * kd.KW();
    return {x + size_t(ci) * g.H * g.W, r, s, true};
  }
  __device__ const float* b_ptr(const BCol& c, int k) const {
    if (!c.valid) return nullptr;
    int hw = g.Ho * g.Wo, img = k / hw, rem = k - img * hw, oh = rem / g.Wo, ow = rem - oh * g.Wo;
    int ih = oh * g.stride - g.pad + c.r, iw = ow * g.stride - g.pad + c.s;
    if (unsigned(ih) >= unsigned(g.H) || unsigned(iw) >= unsigned(g.W)) return nullptr;
    return c.base + size_t(img) * g.Cin * g.H * g.W + size_t(ih) * g.W + iw;
  }
  __device__ float load_b(const BCol& c, int k) const { return ldg_or_zero(b_ptr(c, k)); }
  __device__ CCol c_col(int n) const {
    if (n >= Ncol) return {nullptr, false};
    return {gw + n, true};
  }
  __device__ void store(int m, const CCol& c, float v) const {
    if (m < M && c.valid) c.p[size_t(m) * Ncol] += v;
  }
};


// Split z of the reduction writes its partial C to ws[z] (M x Ncol), plain stores.
template <class P>
struct SplitK : P {
  float* ws;  // (splits, M, Ncol)
  struct CCol { float* p; bool valid; };
  __device__ CCol c_col(int n) const { return {ws + size_t(blockIdx.z) * this->M * this->Ncol + n, n < this->Ncol}; }
  __device__ void store(int m, const CCol& c, float v) const {
    if (m < this->M && c.valid) c.p[size_t(m) * this->Ncol] = v;
  }
};

// C[m][n] = sum over z (in order) of ws[z][m][n], stored through P's epilogue.
template <class P>
__global__ void splitk_epilogue_kernel(P p, const float* __restrict__ ws, int splits) {
  const int64_t n = int64_t(p.M) * p.Ncol;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    float s = 0.f;
    for (int z = 0; z < splits; ++z) s += ws[z * n + i];
    const int m = int(i / p.Ncol), col = int(i - int64_t(m) * p.Ncol);
    p.store(m, p.c_col(col), s);
  }
}

inline Geo to_geo(const Conv2dGeom& g) {
  return {int(g.N), int(g.Cin), int(g.H), int(g.W), int(g.Cout), int(g.Ho), int(g.Wo), int(g.pad), int(g.stride)};
}

// The problems of one convolution geometry, as both kernel files launch them.
// pool > 1 (with relu): y is the pooled output, already zeroed (conv2d_forward_cuda does it).
template <int KS>
void setup(FwdProblem<KS>& p, const Conv2dGeom& g, const ConvFwdIo& io, const float* w, const float* b, bool relu,
           int pool = 0) {
  p.g = to_geo(g);
  p.kd = {int(g.KH), int(g.KW)};
  p.x = io.x, p.x16 = io.x16, p.w = w, p.b = b, p.y = io.y, p.y16 = io.y16, p.relu = relu;
  p.pool = pool > 1 ? pool : 0;
  p.Hp = p.pool ? int(maxpool2d_out_size(g.Ho, pool, pool)) : 0;
  p.Wp = p.pool ? int(maxpool2d_out_size(g.Wo, pool, pool)) : 0;
  p.plane = p.pool ? p.Hp * p.Wp : int(g.Ho * g.Wo);
  p.M = int(g.Cout), p.Ncol = int(g.N * g.Ho * g.Wo), p.K = int(g.Cin * g.KH * g.KW);
  p.a_vec = p.K % 4 == 0 && reinterpret_cast<uintptr_t>(w) % 16 == 0;
}
template <int KS>
void setup(BwdDataProblem<KS>& p, const Conv2dGeom& g, const float* gy, const float* w, float* gx) {
  p.g = to_geo(g);
  p.kd = {int(g.KH), int(g.KW)};
  p.gy = gy, p.w = w, p.gx = gx;
  p.M = int(g.Cin), p.Ncol = int(g.N * g.H * g.W), p.K = int(g.Cout * g.KH * g.KW);
}
template <int KS>
void setup(BwdWeightProblem<KS>& p, const Conv2dGeom& g, const float* x, const float* gy, float* gw) {
  p.g = to_geo(g);
  p.kd = {int(g.KH), int(g.KW)};
  p.x = x, p.gy = gy, p.gw = gw;
  p.M = int(g.Cout), p.Ncol = int(g.Cin * g.KH * g.KW), p.K = int(g.N * g.Ho * g.Wo);
  p.a_vec = (g.Ho * g.Wo) % 4 == 0 && reinterpret_cast<uintptr_t>(gy) % 16 == 0;
}

// Calls fill(problem) with Prob<3>, Prob<1> or Prob<0> (run-time kernel size).
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

inline int sm_count() {
  int dev = 0, sms = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  return sms;
}

// How to split a reduction of length K over a grid of `tiles` output tiles: enough splits
// that the grid covers the GPU about twice, each split at least min_k long (fewer, longer
// splits amortise the epilogue), split lengths a multiple of bk.
struct Splits {
  int count = 1, k_per_split = 0;
};
inline Splits choose_splits(int64_t tiles, int K, int bk, int min_k) {
  Splits s;
  s.count = int(std::max<int64_t>(1, (2 * sm_count() + tiles - 1) / tiles));
  s.count = std::min(s.count, std::max(1, K / min_k));
  s.k_per_split = (K + s.count - 1) / s.count;
  s.k_per_split = (s.k_per_split + bk - 1) / bk * bk;
  s.count = (K + s.k_per_split - 1) / s.k_per_split;
  return s;
}

// Runs launch_main(problem, k_per_split) over the splits: directly into P's epilogue when
// there is one split, else through a workspace and splitk_epilogue_kernel.
template <class P, class LaunchMain>
void run_split(const P& p, Splits s, Stream stream, LaunchMain launch_main) {
  if (s.count <= 1) {
    launch_main(p, p.K);
    return;
  }
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  Buffer ws(sizeof(float) * size_t(s.count) * p.M * p.Ncol, Device::cuda(dev), stream);
  SplitK<P> sp;
  static_cast<P&>(sp) = p;
  sp.ws = static_cast<float*>(ws.data());
  launch_main(sp, s.k_per_split);
  const int64_t n = int64_t(p.M) * p.Ncol;
  FRCNN_LAUNCH(splitk_epilogue_kernel<P>, grid_stride_blocks(n), kBlockThreads, 0, cuda_stream(stream), p,
               static_cast<const float*>(ws.data()), s.count);
}

}  // namespace frcnn::conv_gemm
