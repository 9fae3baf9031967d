// Fast R-CNN training targets for ONE image (py-faster-rcnn's ProposalTargetLayer).
//
// Inputs: proposals (P, 4), gt_boxes (G, 4), gt_labels (G) I32 in 1..K, num_classes =
// K + 1 (background included), config, RngKey (e.g. rng.key(RngPurpose::RoiSampling, i)).
// Steps, identical on both devices:
//   1. candidates = proposals followed by the GT boxes (M = P + G rows, candidate index m);
//   2. per candidate the max IoU over GT boxes and the first GT reaching it (G = 0: 0);
//   3. foreground candidates: max >= fg_thresh; background: bg_lo <= max < bg_hi (a
//      candidate meeting both is foreground);
//   4. sampling (sampling.h, keys indexed by m): the min(#fg, round(fg_fraction*batch))
//      foreground candidates with the smallest keys, then the min(#bg, batch - kept fg)
//      background ones. When there are too few candidates the image gets FEWER than
//      `batch` RoIs (no sampling with replacement, unlike py-faster-rcnn's bg padding);
//      R may be 0 (then every output has 0 rows).
// Outputs, foreground rows first (in key order), then background rows (in key order):
//   rois (R, 4); labels (R) I32 = the GT's class for fg, 0 for bg;
//   bbox_targets (R, 4*(K+1)): for fg rows, columns 4*label..4*label+3 hold
//     encode(roi, GT) normalised by the coder ((d - mean) / std), zeros elsewhere;
//   bbox_inside_weights (R, 4*(K+1)): 1 in those 4 columns for fg rows, else 0 (the
//     outside weights of py-faster-rcnn equal these).
// gt_labels are validated on the host (a tiny copy) — a label outside 1..K throws.
// Deterministic; the same rows on both devices for the same key; targets agree to a few
// ulp. CUDA reads the two candidate counts back once to size the outputs.
#pragma once
#include "engine/context.h"
#include "engine/rng.h"
#include "engine/tensor.h"
#include "kernels/box_math.h"

namespace frcnn {

struct ProposalTargetConfig {
  int batch = 128;            // RoIs per image
  float fg_fraction = 0.25f;  // at most round(fg_fraction * batch) foreground RoIs
  float fg_thresh = 0.5f;     // IoU >= this: foreground
  float bg_hi = 0.5f;         // background: bg_lo <= IoU < bg_hi
  float bg_lo = 0.0f;
  BoxCoder coder = {{0.f, 0.f, 0.f, 0.f}, {0.1f, 0.1f, 0.2f, 0.2f}};  // target normalisation
};

struct ProposalTargets {
  Tensor rois;                 // (R, 4) F32
  Tensor labels;               // (R) I32, 0 = background
  Tensor bbox_targets;         // (R, 4*(K+1)) F32
  Tensor bbox_inside_weights;  // (R, 4*(K+1)) F32
};

ProposalTargets proposal_targets(Context& ctx, const Tensor& proposals, const Tensor& gt_boxes,
                                 const Tensor& gt_labels, int num_classes, const ProposalTargetConfig& cfg,
                                 RngKey key);

}  // namespace frcnn
