#include <algorithm>

#include "engine/cuda_check.h"
#include "train/sgd.h"

namespace frcnn {

// w, v, g: (n); the same arithmetic, in the same order, as sgd_update_cpu.
__global__ void sgd_update_kernel(float* w, float* v, const float* __restrict__ g, int64_t n, float lr_eff,
                                  float momentum, float decay_eff) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    float vi = momentum * v[i] + lr_eff * (g[i] + decay_eff * w[i]);
    v[i] = vi;
    w[i] -= vi;
  }
}

void sgd_update_cuda(float* w, float* v, const float* g, int64_t n, float lr_eff, float momentum, float decay_eff,
                     Stream s) {
  cudaStream_t st = cuda_stream(s);
  sgd_update_kernel<<<int(std::min<int64_t>((n + 255) / 256, 65535 * 8)), 256, 0, st>>>(w, v, g, n, lr_eff, momentum,
                                                                                      decay_eff);
  FRCNN_LAUNCH_CHECK(st);
}

}  // namespace frcnn
