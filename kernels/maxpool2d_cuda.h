// Host-side launchers of maxpool2d_cuda.cu, on the stream they are given. Internal: included
// by maxpool2d.cpp (the dispatcher) and maxpool2d_cuda.cu only; compiled with the CUDA backend.
#pragma once
#include "kernels/maxpool2d.h"

namespace frcnn {

void maxpool2d_forward_cuda(const float* x, float* y, int32_t* argmax, int64_t planes, int64_t H, int64_t W, int64_t Ho,
                            int64_t Wo, int k, int s, Stream st);
void maxpool2d_backward_cuda(const float* gy, const int32_t* argmax, float* gx, int64_t planes, int64_t H, int64_t W,
                             int64_t Ho, int64_t Wo, int k, int s, Stream st);

}  // namespace frcnn
