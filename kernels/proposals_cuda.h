// Host-side launchers of proposals_cuda.cu, on the stream they are given. Internal: included
// by proposals.cpp (the dispatcher) and proposals_cuda.cu only; compiled with the CUDA backend.
#pragma once
#include "kernels/proposals.h"

namespace frcnn {

Proposals proposal_layer_cuda(const float* scores, const float* deltas, const float* anchors, int A, int HW,
                              float img_h, float img_w, float min_size, const ProposalConfig& cfg, const Device& dev,
                              Stream s);

// The chain into fixed buffers: out_boxes (cap, 4), out_scores (cap), *out_count (device),
// cap = proposal_capacity(A * HW, cfg); rows past the count are zeroed. The min-size filter
// is min_size * *scale_dev (scale_dev on the device), or min_size when scale_dev is null.
void proposal_layer_into_cuda(const float* scores, const float* deltas, const float* anchors, int A, int HW,
                              float img_h, float img_w, float min_size, const float* scale_dev,
                              const ProposalConfig& cfg, int cap, float* out_boxes, float* out_scores,
                              int32_t* out_count, const Device& dev, Stream s);

}  // namespace frcnn
