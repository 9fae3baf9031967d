// CUDA half of axpy.h: one thread per element (grid-stride).
#include "kernels/axpy_cuda.h"
#include "kernels/cuda_util.cuh"

namespace frcnn {

// x, y: (n)
__global__ void axpy_kernel(float a, const float* __restrict__ x, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = axpy_element(a, x[i], y[i]);
}

void axpy_cuda(float a, const float* x, float* y, int64_t n, Stream s) {
  FRCNN_LAUNCH(axpy_kernel, grid_stride_blocks(n), kBlockThreads, 0, cuda_stream(s), a, x, y, n);
}

}  // namespace frcnn
