#include "kernels/relu.h"

namespace frcnn {

// x, y: (n)
void relu_forward_cpu(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : 0.f;
}

// y, gy, gx: (n)
void relu_backward_cpu(const float* y, const float* gy, float* gx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) gx[i] = y[i] > 0.f ? gy[i] : 0.f;
}

}  // namespace frcnn
