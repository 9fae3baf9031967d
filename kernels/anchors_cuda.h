// Host-side launchers of anchors_cuda.cu, on the stream they are given. Internal: included
// by anchors.cpp (the dispatcher) and anchors_cuda.cu only; compiled with the CUDA backend.
#pragma once
#include "kernels/anchors.h"

namespace frcnn {

void make_anchors_cuda(const float* base_host, int A, int feat_h, int feat_w, int stride, float* out, const Device& dev,
                       Stream s);

}  // namespace frcnn
