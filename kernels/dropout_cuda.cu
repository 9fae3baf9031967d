#include "kernels/cuda_util.cuh"
#include "kernels/dropout_cuda.h"

namespace frcnn {

// x, y: (n)
__global__ void dropout_kernel(const float* __restrict__ x, float* y, int64_t n, float p, uint64_t seed,
                               uint64_t stream) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = x[i] * dropout_factor(seed, stream, static_cast<uint64_t>(i), p);
}

void dropout_apply_cuda(const float* x, float* y, int64_t n, float p, RngKey key, Stream s) {
  cudaStream_t st = cuda_stream(s);
  FRCNN_LAUNCH(dropout_kernel, grid_stride_blocks(n), kBlockThreads, 0, st, x, y, n, p, key.seed, key.stream);
}

}  // namespace frcnn
