// Host-side launchers of anchor_targets_cuda.cu, on the stream they are given. Internal: included
// by anchor_targets.cpp (the dispatcher) and anchor_targets_cuda.cu only; compiled with the CUDA backend.
#pragma once
#include "kernels/anchor_targets.h"

namespace frcnn {

void anchor_targets_cuda(const float* anchors, int K, const float* gt, int G, float img_h, float img_w,
                         const AnchorTargetConfig& cfg, RngKey key, int32_t* labels, float* targets, float* inside_w,
                         float* outside_w, const Device& dev, Stream s);

}  // namespace frcnn
