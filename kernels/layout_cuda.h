// Host-side launchers of layout_cuda.cu, on the stream they are given. Internal: included
// by layout.cpp (the dispatcher) and layout_cuda.cu only; compiled with the CUDA backend.
#pragma once
#include "kernels/layout.h"

namespace frcnn {

void layout_permute_cuda(const float* in, int64_t N, int64_t C, int64_t H, int64_t W, bool to_nhwc, float* out,
                         Stream s);

}  // namespace frcnn
