// Host-side launchers of relu_cuda.cu, on the stream they are given. Internal: included
// by relu.cpp (the dispatcher) and relu_cuda.cu only; compiled with the CUDA backend.
#pragma once
#include "kernels/relu.h"

namespace frcnn {

void relu_forward_cuda(const float* x, float* y, int64_t n, Stream s);
void relu_backward_cuda(const float* y, const float* gy, float* gx, int64_t n, Stream s);

}  // namespace frcnn
