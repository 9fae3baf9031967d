// CUDA half of roi_pool.h: forward one thread per output bin; backward as the
// deterministic gather described in roi_pool.h.
#include <cfloat>

#include "kernels/cuda_util.cuh"
#include "kernels/roi_pool_cuda.h"
#include "kernels/roi_pool_math.h"

namespace frcnn {

using namespace cuda_detail;

namespace {

__device__ __forceinline__ int roi_batch_dev(float b, int N) {
  const int n = static_cast<int>(b);
  return (static_cast<float>(n) == b && n >= 0 && n < N) ? n : -1;
}

// out, argmax: (R, C, PH, PW); one thread per element
__global__ void roi_pool_forward_kernel(const float* __restrict__ features, int N, int C, int H, int W,
                                        const float* __restrict__ rois, int R, int PH, int PW, float scale,
                                        float* __restrict__ out, int32_t* __restrict__ argmax) {
  const int64_t total = int64_t(R) * C * PH * PW;
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < total; o += int64_t(gridDim.x) * blockDim.x) {
    const int pw = o % PW, ph = (o / PW) % PH, c = (o / (PW * PH)) % C;
    const int r = static_cast<int>(o / (int64_t(PW) * PH * C));
    const float* roi = rois + 5 * r;
    const int n = roi_batch_dev(roi[0], N);
    const RoiWindow win = roi_window(roi + 1, scale);
    int h0, h1, w0, w1;
    roi_bin(ph, PH, win.start_h, win.size_h, H, &h0, &h1);
    roi_bin(pw, PW, win.start_w, win.size_w, W, &w0, &w1);
    const bool empty = n < 0 || h1 <= h0 || w1 <= w0;
    float best = empty ? 0.f : -FLT_MAX;
    int32_t arg = -1;
    if (!empty) {
      const float* plane = features + (int64_t(n) * C + c) * H * W;
      for (int h = h0; h < h1; ++h)
        for (int w = w0; w < w1; ++w) {
          const float v = plane[h * W + w];
          if (v > best) {
            best = v;
            arg = h * W + w;
          }
        }
    }
    out[o] = best;
    argmax[o] = arg;
  }
}

// Per RoI: batch (-1 when invalid), then PH bin begins, PH ends, PW begins, PW ends.
// bins: (R, 1 + 2*PH + 2*PW) ints
__global__ void roi_bins_kernel(const float* __restrict__ rois, int R, int N, int H, int W, int PH, int PW, float scale,
                                int32_t* __restrict__ bins) {
  const int stride = 1 + 2 * PH + 2 * PW;
  for (int r = blockIdx.x * blockDim.x + threadIdx.x; r < R; r += gridDim.x * blockDim.x) {
    int32_t* b = bins + int64_t(r) * stride;
    const RoiWindow win = roi_window(rois + 5 * r + 1, scale);
    b[0] = roi_batch_dev(rois[5 * r], N);
    for (int p = 0; p < PH; ++p) roi_bin(p, PH, win.start_h, win.size_h, H, &b[1 + p], &b[1 + PH + p]);
    for (int p = 0; p < PW; ++p)
      roi_bin(p, PW, win.start_w, win.size_w, W, &b[1 + 2 * PH + p], &b[1 + 2 * PH + PW + p]);
  }
}

constexpr int kRoiChunk = 32;

// grad: (N, C, H, W), one thread per element; RoIs staged kRoiChunk at a time.
__global__ void roi_pool_backward_kernel(const float* __restrict__ grad_out, const int32_t* __restrict__ argmax,
                                         const int32_t* __restrict__ bins, int R, int N, int C, int H, int W, int PH,
                                         int PW, float* __restrict__ grad) {
  int32_t* sbins = dynamic_shared<int32_t>();  // (kRoiChunk, 1 + 2*PH + 2*PW)
  const int stride = 1 + 2 * PH + 2 * PW;
  const int64_t total = int64_t(N) * C * H * W;
  const int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  const bool active = e < total;
  const int HW = H * W;
  const int pos = active ? static_cast<int>(e % HW) : 0;
  const int h = pos / W, w = pos % W;
  const int64_t nc = active ? e / HW : 0;
  const int n = static_cast<int>(nc / C), c = static_cast<int>(nc % C);
  float acc = 0.f;
  for (int base = 0; base < R; base += kRoiChunk) {
    const int cnt = min(kRoiChunk, R - base);
    __syncthreads();
    for (int i = threadIdx.x; i < cnt * stride; i += blockDim.x) sbins[i] = bins[int64_t(base) * stride + i];
    __syncthreads();
    if (!active) continue;
    for (int k = 0; k < cnt; ++k) {
      const int32_t* b = sbins + k * stride;
      if (b[0] != n) continue;
      const int32_t *hb = b + 1, *he = b + 1 + PH, *wb = b + 1 + 2 * PH, *we = b + 1 + 2 * PH + PW;
      if (h < hb[0] || h >= he[PH - 1] || w < wb[0] || w >= we[PW - 1]) continue;
      const int64_t roff = (int64_t(base + k) * C + c) * PH * PW;
      for (int ph = 0; ph < PH; ++ph) {
        if (h < hb[ph] || h >= he[ph]) continue;
        for (int pw = 0; pw < PW; ++pw) {
          if (w < wb[pw] || w >= we[pw]) continue;
          const int64_t o = roff + ph * PW + pw;
          if (argmax[o] == pos) acc += grad_out[o];
        }
      }
    }
  }
  if (active) grad[e] = acc;
}

}  // namespace

void roi_pool_forward_cuda(const float* features, int N, int C, int H, int W, const float* rois, int R, int PH, int PW,
                           float scale, float* out, int32_t* argmax, Stream s) {
  cudaStream_t cs = cuda_stream(s);
  FRCNN_LAUNCH(roi_pool_forward_kernel, grid_stride_blocks(int64_t(R) * C * PH * PW), kBlockThreads, 0, cs, features, N,
               C, H, W, rois, R, PH, PW, scale, out, argmax);
}

void roi_pool_backward_cuda(const float* grad_out, const int32_t* argmax, const float* rois, int R, int N, int C, int H,
                            int W, int PH, int PW, float scale, float* grad, const Device& dev, Stream s) {
  cudaStream_t cs = cuda_stream(s);
  const int stride = 1 + 2 * PH + 2 * PW;
  const size_t shmem = size_t(kRoiChunk) * stride * sizeof(int32_t);
  if (shmem > 48 * 1024) throw std::invalid_argument("roi_pool_backward (CUDA): pooled size too large");
  Scratch<int32_t> bins(int64_t(std::max(R, 1)) * stride, dev, s);
  if (R > 0) {
    FRCNN_LAUNCH(roi_bins_kernel, grid_stride_blocks(R), kBlockThreads, 0, cs, rois, R, N, H, W, PH, PW, scale, bins.p);
  }
  const int64_t total = int64_t(N) * C * H * W;
  const int64_t blocks = (total + kBlockThreads - 1) / kBlockThreads;
  FRCNN_LAUNCH(roi_pool_backward_kernel, static_cast<unsigned>(blocks), kBlockThreads, shmem, cs, grad_out, argmax,
               bins.p, R, N, C, H, W, PH, PW, grad);
}

}  // namespace frcnn
