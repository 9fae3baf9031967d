// Small glue ops between the RPN head and the proposal / RoI layers.
//
// rpn_foreground_probs: logits (2A, H, W) or (1, 2A, H, W), channel a*2 + k (k = 0
//   background, 1 foreground; the RPN head's layout, anchors.h) -> (A, H, W) softmax
//   probability of foreground, p = 1 / (1 + exp(l0 - l1)), for the proposal layer.
// boxes_to_rois: boxes (P, 4) -> rois (P, 5) = (batch_index, x1, y1, x2, y2), the RoI
//   pool's input format.
// Both devices; pure element-wise maps, deterministic; the probability agrees to an ulp
// across devices (expf).
#pragma once
#include <cmath>

#include "engine/context.h"
#include "engine/host_device.h"
#include "engine/tensor.h"

namespace frcnn {

Tensor rpn_foreground_probs(Context& ctx, const Tensor& logits);
Tensor boxes_to_rois(Context& ctx, const Tensor& boxes, int batch_index);

// Shared per-element maths. Written as exp of a non-positive number so it never
// overflows: the same formula on both devices.
FRCNN_HD float pair_softmax_fg(float l_bg, float l_fg) {
  const float d = l_fg - l_bg;
  if (d >= 0.f) return 1.f / (1.f + expf(-d));
  const float e = expf(d);
  return e / (1.f + e);
}

}  // namespace frcnn
