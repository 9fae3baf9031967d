#include "kernels/sgd_update.h"

namespace frcnn {

// w, v, g: (n)
void sgd_update_cpu(float* w, float* v, const float* g, int64_t n, float lr_eff, float momentum, float decay_eff) {
  for (int64_t i = 0; i < n; ++i) sgd_update_element(w[i], v[i], g[i], lr_eff, momentum, decay_eff);
}

}  // namespace frcnn
