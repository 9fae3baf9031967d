#include <algorithm>

#include "engine/cuda_check.h"
#include "layers/tensor_ops.h"

namespace frcnn {

// x, y: (n)
__global__ void axpy_kernel(float a, const float* __restrict__ x, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] += a * x[i];
}

void tensor_axpy_cuda(float a, const float* x, float* y, int64_t n, Stream s) {
  cudaStream_t st = cuda_stream(s);
  axpy_kernel<<<int(std::min<int64_t>((n + 255) / 256, 65535 * 8)), 256, 0, st>>>(a, x, y, n);
  FRCNN_LAUNCH_CHECK(st);
}

}  // namespace frcnn
