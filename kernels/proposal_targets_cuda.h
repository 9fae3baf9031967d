// Host-side launchers of proposal_targets_cuda.cu, on the stream they are given. Internal: included
// by proposal_targets.cpp (the dispatcher) and proposal_targets_cuda.cu only; compiled with the CUDA backend.
#pragma once
#include "kernels/proposal_targets.h"

namespace frcnn {

ProposalTargets proposal_targets_cuda(const float* props, int P, const float* gt, const int32_t* gt_labels, int G,
                                      int num_classes, const ProposalTargetConfig& cfg, RngKey key, const Device& dev,
                                      Stream s);

}  // namespace frcnn
