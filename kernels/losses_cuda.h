// Host-side launchers of losses_cuda.cu, on the stream they are given. Internal: included
// by losses.cpp (the dispatcher) and losses_cuda.cu only; compiled with the CUDA backend.
#pragma once
#include "kernels/losses.h"

namespace frcnn {

float softmax_cross_entropy_cuda(const float* logits, const int32_t* labels, float* grad, int64_t N, int64_t C,
                                 Stream s);
float smooth_l1_cuda(const float* pred, const float* target, const float* in_w, const float* out_w, float* grad,
                     int64_t n, float sigma, float normalizer, Stream s);
void softmax_cuda(const float* logits, float* probs, int64_t N, int64_t C, Stream s);

}  // namespace frcnn
