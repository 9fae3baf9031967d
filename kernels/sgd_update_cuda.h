// Host-side launcher of sgd_update_cuda.cu, on the stream it is given. Internal:
// included by sgd_update.cpp (the dispatcher) and sgd_update_cuda.cu only.
#pragma once
#include "kernels/sgd_update.h"

namespace frcnn {

void sgd_update_cuda(float* w, float* v, const float* g, int64_t n, float lr_eff, float momentum, float decay_eff,
                     Stream s);

}  // namespace frcnn
