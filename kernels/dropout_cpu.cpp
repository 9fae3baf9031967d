#include "kernels/dropout.h"

namespace frcnn {

// x, y: (n)
void dropout_apply_cpu(const float* x, float* y, int64_t n, float p, RngKey key) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * dropout_factor(key.seed, key.stream, static_cast<uint64_t>(i), p);
}

}  // namespace frcnn
