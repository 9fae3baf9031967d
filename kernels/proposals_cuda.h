// Host-side launchers of proposals_cuda.cu, on the stream they are given. Internal: included
// by proposals.cpp (the dispatcher) and proposals_cuda.cu only; compiled with the CUDA backend.
#pragma once
#include "kernels/proposals.h"

namespace frcnn {

Proposals proposal_layer_cuda(const float* scores, const float* deltas, const float* anchors, int A, int HW,
                              float img_h, float img_w, float min_size, const ProposalConfig& cfg, const Device& dev,
                              Stream s);

}  // namespace frcnn
