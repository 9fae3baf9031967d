#include "kernels/cuda_util.cuh"
#include "kernels/relu_cuda.h"

namespace frcnn {

// x, y: (n)
__global__ void relu_forward_kernel(const float* __restrict__ x, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    float v = x[i];
    y[i] = v > 0.f ? v : 0.f;
  }
}

__global__ void relu_backward_kernel(const float* __restrict__ y, const float* gy, float* gx, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    gx[i] = y[i] > 0.f ? gy[i] : 0.f;
}

void relu_forward_cuda(const float* x, float* y, int64_t n, Stream s) {
  cudaStream_t st = cuda_stream(s);
  FRCNN_LAUNCH(relu_forward_kernel, grid_stride_blocks(n), kBlockThreads, 0, st, x, y, n);
}

void relu_backward_cuda(const float* y, const float* gy, float* gx, int64_t n, Stream s) {
  cudaStream_t st = cuda_stream(s);
  FRCNN_LAUNCH(relu_backward_kernel, grid_stride_blocks(n), kBlockThreads, 0, st, y, gy, gx, n);
}

}  // namespace frcnn
