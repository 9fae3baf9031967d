// Host-side launcher of axpy_cuda.cu, on the stream it is given. Internal: included by
// axpy.cpp (the dispatcher) and axpy_cuda.cu only; compiled with the CUDA backend.
#pragma once
#include "kernels/axpy.h"

namespace frcnn {

void axpy_cuda(float a, const float* x, float* y, int64_t n, Stream s);

}  // namespace frcnn
