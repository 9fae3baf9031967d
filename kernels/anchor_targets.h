// RPN training targets for ONE image (py-faster-rcnn's AnchorTargetLayer).
//
// Inputs: anchors (K, 4) (make_anchors), gt_boxes (G, 4) (G = 0 allowed), image size,
// config, and an RngKey (engine/rng.h; e.g. rng.key(RngPurpose::AnchorSampling, image)).
// Steps, identical on both devices:
//   1. inside: x1 >= -b, y1 >= -b, x2 <= img_w + b, y2 <= img_h + b (b = allowed_border;
//      continuous coordinates, so x2 may equal img_w). Anchors not inside get label -1
//      and zero targets/weights ("cross-boundary anchors are ignored").
//   2. IoU of inside anchors with every GT (box_math.h, bit-identical on both devices);
//      per anchor the max and the first GT reaching it; per GT the max over inside anchors.
//   3. labels: max < neg_iou -> 0; for each GT whose best IoU is > 0, every inside anchor
//      with exactly that IoU (ties included) -> 1; max >= pos_iou -> 1; else -1.
//      (A GT no inside anchor touches gets no forced positive: py-faster-rcnn would have
//      labelled every zero-overlap anchor positive there.)
//   4. sampling (sampling.h): keep the min(#fg, int(fg_fraction*batch)) positives with the
//      smallest keys, then the min(#bg, batch - kept fg) negatives with the smallest keys;
//      the rest of the candidates -> -1. G = 0: every inside anchor is a negative
//      candidate, so `batch` negatives are sampled.
//   5. bbox_targets (K, 4): encode(anchor, its GT) for positives (means 0, stds 1: the RPN
//      uses no normalisation), 0 elsewhere; bbox_inside_weights (K, 4): 1 for positives;
//      bbox_outside_weights (K, 4): 1 / (number sampled) for every sampled anchor (fg and
//      bg), 0 elsewhere — py-faster-rcnn's RPN_POSITIVE_WEIGHT = -1 uniform weighting.
// Outputs on the inputs' device. Deterministic; same labels on both devices for the same
// key; targets agree to a few ulp (logf). CUDA: no host round trip (counts stay on the
// device; the sampling is a CUB radix sort of the composite keys).
#pragma once
#include "engine/context.h"
#include "engine/rng.h"
#include "engine/tensor.h"

namespace frcnn {

struct AnchorTargetConfig {
  float pos_iou = 0.7f;        // IoU >= this: positive
  float neg_iou = 0.3f;        // max IoU < this: negative
  int batch = 256;             // anchors sampled per image
  float fg_fraction = 0.5f;    // at most this fraction of the batch positive
  float allowed_border = 0.f;  // anchors may stick out of the image by this much (pixels)
};

struct AnchorTargets {
  Tensor labels;                // (K) I32: 1 fg, 0 bg, -1 ignore
  Tensor bbox_targets;          // (K, 4) F32
  Tensor bbox_inside_weights;   // (K, 4) F32
  Tensor bbox_outside_weights;  // (K, 4) F32
};

AnchorTargets anchor_targets(Context& ctx, const Tensor& anchors, const Tensor& gt_boxes, float img_h, float img_w,
                             const AnchorTargetConfig& cfg, RngKey key);

}  // namespace frcnn
