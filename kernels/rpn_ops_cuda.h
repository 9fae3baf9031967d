// Host-side launchers of rpn_ops_cuda.cu, on the stream they are given. Internal: included
// by rpn_ops.cpp (the dispatcher) and rpn_ops_cuda.cu only; compiled with the CUDA backend.
#pragma once
#include "kernels/rpn_ops.h"

namespace frcnn {

void rpn_foreground_probs_cuda(const float* logits, float* out, int A, int HW, Stream s);
void boxes_to_rois_cuda(const float* boxes, float* rois, int64_t P, int batch_index, Stream s);

}  // namespace frcnn
