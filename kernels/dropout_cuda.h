// Host-side launchers of dropout_cuda.cu, on the stream they are given. Internal: included
// by dropout.cpp (the dispatcher) and dropout_cuda.cu only; compiled with the CUDA backend.
#pragma once
#include "kernels/dropout.h"

namespace frcnn {

void dropout_apply_cuda(const float* x, float* y, int64_t n, float p, RngKey key, Stream s);

}  // namespace frcnn
