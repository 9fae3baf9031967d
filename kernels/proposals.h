// RPN proposal layer (py-faster-rcnn's ProposalLayer) for ONE image.
//
// Inputs (the RPN head's layout, see anchors.h):
//   scores:  (A, H, W) F32 foreground probabilities (already softmaxed; a NaN is visited
//            last, kernels/score_order.h)
//   deltas:  (4A, H, W) F32, channel a*4 + j, j = (dx, dy, dw, dh), no normalisation
//   anchors: (H*W*A, 4) from make_anchors(), k = (h*W + w)*A + a
//   img_h, img_w: the network input size; scale: input scale factor (resized / original)
// Steps, the same on both devices:
//   1. decode every anchor with its deltas (box_math.h, dw/dh clamped), clip to
//      [0, img_w] x [0, img_h];
//   2. drop boxes with width or height < min_size * scale (no +1; py-faster-rcnn's
//      x2 - x1 + 1 >= min_size in its inclusive convention);
//   3. order the rest by score, descending, ties by lower anchor index (stable);
//   4. keep the first pre_nms_top_n (<= 0: no cap);
//   5. greedy NMS at nms_thresh (IoU > thresh suppresses, nms.h);
//   6. keep the first post_nms_top_n (<= 0: no cap).
// Output: boxes (P, 4) and scores (P), sorted by score descending.
// CUDA: the chain stays on the device (decode kernel, CUB stable radix sort, NMS mask and
// greedy scan with the valid count read from device memory); proposal_layer() reads P back
// at the end to size its outputs (one sync), proposal_layer_fixed() reads nothing back. Deterministic; the same proposals on both devices
// up to decode's exp() ulps (identical unless an IoU lands within an ulp of nms_thresh).
#pragma once
#include "engine/context.h"
#include "engine/tensor.h"
#include "kernels/box_math.h"

namespace frcnn {

struct ProposalConfig {
  int pre_nms_top_n = 6000;  // boxes entering NMS (train 12000, test 6000; <= 0: no cap)
  int post_nms_top_n = 300;  // proposals kept after NMS (train 2000, test 300; <= 0: no cap)
  double nms_thresh = 0.7;   // RPN NMS IoU (compared as nms() does, nms.h)
  float min_size = 16.f;     // minimum box side at the original image scale (pixels)
};

struct Proposals {
  Tensor boxes;   // (P, 4) F32
  Tensor scores;  // (P) F32, descending
};

Proposals proposal_layer(Context& ctx, const Tensor& scores, const Tensor& deltas, const Tensor& anchors, float img_h,
                         float img_w, float scale, const ProposalConfig& cfg = {});

// The fixed-capacity form, for a detector that reads nothing back between its stages
// (and can be captured in a CUDA graph): the same proposals, in buffers of
// proposal_capacity() rows whose rows past the count are zero, with the count in device
// memory. scale is a (1) F32 tensor on the op's device, read by the kernels, so one
// captured sequence serves images of any scale. CUDA makes no sync and no read-back.
struct FixedProposals {
  Tensor boxes;   // (cap, 4) F32: rows [0, count) are proposal_layer()'s boxes, the rest 0
  Tensor scores;  // (cap) F32, descending, then 0
  Tensor count;   // (1) I32 on the device: P
};
// min(anchors, pre_nms_top_n, post_nms_top_n), the caps <= 0 not counting.
int64_t proposal_capacity(int64_t num_anchors, const ProposalConfig& cfg);
FixedProposals proposal_layer_fixed(Context& ctx, const Tensor& scores, const Tensor& deltas, const Tensor& anchors,
                                    float img_h, float img_w, const Tensor& scale, const ProposalConfig& cfg = {});

// Decodes and clips one anchor's box; true when it passes the min-size filter. Shared
// by the CPU and CUDA paths. scores (A, HW), deltas (4A, HW), anchors (HW*A, 4).
FRCNN_HD bool proposal_box(const float* deltas, const float* anchors, int k, int A, int HW, float img_h, float img_w,
                           float min_size, float* box) {
  const int a = k % A, cell = k / A;
  const float d[4] = {deltas[(a * 4 + 0) * HW + cell], deltas[(a * 4 + 1) * HW + cell],
                      deltas[(a * 4 + 2) * HW + cell], deltas[(a * 4 + 3) * HW + cell]};
  decode_box(anchors + 4 * k, d, BoxCoder{}, box);
  clip_box(box, img_h, img_w);
  return box_min_size_ok(box, min_size);
}

}  // namespace frcnn
