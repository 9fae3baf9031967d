// Host-side launchers of precision_cuda.cu, on the stream they are given. Internal: included
// by precision.cpp (the dispatcher) and precision_cuda.cu only; compiled with the CUDA backend.
#pragma once
#include "kernels/precision.h"

namespace frcnn {

void round_to_precision_cuda(const float* x, float* y, int64_t n, MathMode m, Stream s);
void to_bf16_cuda(const float* x, uint16_t* y, int64_t n, Stream s);
void bf16_to_f32_cuda(const uint16_t* x, float* y, int64_t n, Stream s);

}  // namespace frcnn
