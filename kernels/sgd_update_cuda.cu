// CUDA half of sgd_update.h: one thread per element (grid-stride).
#include "kernels/cuda_util.cuh"
#include "kernels/sgd_update_cuda.h"

namespace frcnn {

// w, v, g: (n)
__global__ void sgd_update_kernel(float* w, float* v, const float* __restrict__ g, int64_t n, float lr_eff,
                                  float momentum, float decay_eff) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    sgd_update_element(w[i], v[i], g[i], lr_eff, momentum, decay_eff);
}

void sgd_update_cuda(float* w, float* v, const float* g, int64_t n, float lr_eff, float momentum, float decay_eff,
                     Stream s) {
  FRCNN_LAUNCH(sgd_update_kernel, grid_stride_blocks(n), kBlockThreads, 0, cuda_stream(s), w, v, g, n, lr_eff, momentum,
               decay_eff);
}

}  // namespace frcnn
