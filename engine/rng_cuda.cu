#include "engine/launch.cuh"
#include "engine/rng_cuda.h"

namespace frcnn {

__global__ void fill_uniform_kernel(float* __restrict__ d, int64_t n, uint64_t seed, uint64_t stream) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    d[i] = philox_uniform(seed, stream, static_cast<uint64_t>(i));
}

void fill_uniform_cuda(float* d, int64_t n, RngKey key, Stream stream) {
  if (n == 0) return;
  cudaStream_t s = cuda_stream(stream);
  FRCNN_LAUNCH(fill_uniform_kernel, grid_stride_blocks(n), kBlockThreads, 0, s, d, n, key.seed, key.stream);
}

}  // namespace frcnn
