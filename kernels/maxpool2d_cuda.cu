#include "kernels/cuda_util.cuh"
#include "kernels/maxpool2d_cuda.h"

namespace frcnn {

// One thread per output cell. x: (planes, H, W); y, argmax: (planes, Ho, Wo)
__global__ void maxpool2d_forward_kernel(const float* __restrict__ x, float* y, int32_t* argmax, int64_t planes,
                                         int64_t H, int64_t W, int64_t Ho, int64_t Wo, int k, int s) {
  const int64_t total = planes * Ho * Wo;
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < total; o += int64_t(gridDim.x) * blockDim.x) {
    int64_t ow = o % Wo, oh = (o / Wo) % Ho, p = o / (Wo * Ho);
    const float* xp = x + p * H * W;
    int64_t h0 = oh * s, w0 = ow * s;
    int64_t h1 = min(h0 + k, H), w1 = min(w0 + k, W);
    float best = xp[h0 * W + w0];
    int64_t arg = h0 * W + w0;
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) {
        float v = xp[h * W + w];
        if (v > best) {
          best = v;
          arg = h * W + w;
        }
      }
    y[o] = best;
    argmax[o] = static_cast<int32_t>(arg);
  }
}

// One thread per input cell (gather, deterministic). gy, argmax: (planes, Ho, Wo); gx: (planes, H, W)
__global__ void maxpool2d_backward_kernel(const float* __restrict__ gy, const int32_t* __restrict__ argmax, float* gx,
                                          int64_t planes, int64_t H, int64_t W, int64_t Ho, int64_t Wo, int k, int s) {
  const int64_t total = planes * H * W;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t w = i % W, h = (i / W) % H, p = i / (W * H);
    gx[i] = maxpool2d_input_grad(gy, argmax, p, h, w, W, Ho, Wo, k, s);
  }
}

void maxpool2d_forward_cuda(const float* x, float* y, int32_t* argmax, int64_t planes, int64_t H, int64_t W, int64_t Ho,
                            int64_t Wo, int k, int s, Stream st) {
  cudaStream_t cs = cuda_stream(st);
  FRCNN_LAUNCH(maxpool2d_forward_kernel, grid_stride_blocks(planes * Ho * Wo), kBlockThreads, 0, cs, x, y, argmax,
               planes, H, W, Ho, Wo, k, s);
}

void maxpool2d_backward_cuda(const float* gy, const int32_t* argmax, float* gx, int64_t planes, int64_t H, int64_t W,
                             int64_t Ho, int64_t Wo, int k, int s, Stream st) {
  cudaStream_t cs = cuda_stream(st);
  FRCNN_LAUNCH(maxpool2d_backward_kernel, grid_stride_blocks(planes * H * W), kBlockThreads, 0, cs, gy, argmax, gx,
               planes, H, W, Ho, Wo, k, s);
}

}  // namespace frcnn
