#include "kernels/axpy.h"

namespace frcnn {

// x, y: (n)
void axpy_cpu(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = axpy_element(a, x[i], y[i]);
}

}  // namespace frcnn
