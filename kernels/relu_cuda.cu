#include <algorithm>

#include "engine/cuda_check.h"
#include "kernels/relu.h"

namespace frcnn {

static int relu_blocks(int64_t n, int threads) {
  return static_cast<int>(std::min<int64_t>((n + threads - 1) / threads, 65535 * 8));
}

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
  relu_forward_kernel<<<relu_blocks(n, 256), 256, 0, st>>>(x, y, n);
  FRCNN_LAUNCH_CHECK(st);
}

void relu_backward_cuda(const float* y, const float* gy, float* gx, int64_t n, Stream s) {
  cudaStream_t st = cuda_stream(s);
  relu_backward_kernel<<<relu_blocks(n, 256), 256, 0, st>>>(y, gy, gx, n);
  FRCNN_LAUNCH_CHECK(st);
}

}  // namespace frcnn
