// Layout changes between channels-first and channels-last for F32 4-d tensors, e.g. the
// RPN head's (N, 2A, H, W) logits -> (N, H, W, 2A) = (N, H, W, A, 2), the order of the
// anchors (anchors.h) that the RPN loss needs.
//   nchw_to_nhwc: (N, C, H, W) -> (N, H, W, C)
//   nhwc_to_nchw: (N, H, W, C) -> (N, C, H, W)
// Fresh output on the input's device. Pure copies: exact and deterministic on both devices.
#pragma once
#include "engine/context.h"
#include "engine/tensor.h"

namespace frcnn {

Tensor nchw_to_nhwc(Context& ctx, const Tensor& x);
Tensor nhwc_to_nchw(Context& ctx, const Tensor& x);

}  // namespace frcnn
