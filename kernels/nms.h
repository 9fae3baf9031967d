// Non-maximum suppression: plain, batched (per class), and the final per-class
// detection step of Faster R-CNN.
//
// Rule (the same on both devices): boxes are visited in descending score order, ties
// broken by the lower index first (a stable sort by score, descending); a box is kept
// unless an already kept box has an IoU with it that is strictly greater than
// iou_thresh. The IoU is a float (box_iou in box_math.h, no +1); the threshold is a
// double, and the comparison is the one torchvision's CPU kernel makes,
// double(iou) > iou_thresh: at 0.3 an IoU of exactly 0.3f (0.3000000119...) suppresses,
// at 0.7 an IoU of 0.7f (0.6999999880...) does not. Both devices compare the float IoU
// with nms_float_threshold(iou_thresh), which decides every float the same way
// (docs/KERNELS.md). IoU is bit-identical on the CPU and CUDA, so keep lists are
// identical too. A NaN score is visited after every number (-inf included), NaNs among
// themselves by index (kernels/score_order.h), on both devices.
//
// CUDA: stable radix sort (CUB) by score, then the bitmask algorithm — one 64-bit word
// per (box, block of 64 later boxes) saying which of them it suppresses — and the
// greedy scan over the mask on the device as well (one thread block; no copy of the
// mask to the host). Only the final count is read back to size the output (one sync).
// The mask takes N * ceil(N / 64) * 8 bytes of device memory (6000 boxes: 0.9 MB).
// Deterministic on both devices.
#pragma once
#include "engine/context.h"
#include "engine/host_device.h"
#include "engine/tensor.h"

namespace frcnn {

// The largest float <= t (t not NaN): for every float v, v > nms_float_threshold(t)
// exactly when double(v) > t. -inf below -FLT_MAX, FLT_MAX from FLT_MAX up to a finite
// t, +inf for t = +inf.
float nms_float_threshold(double t);

// boxes: (N, 4) F32, scores: (N) F32 -> kept indices I32 (P), in descending score order.
Tensor nms(Context& ctx, const Tensor& boxes, const Tensor& scores, double iou_thresh);

// As nms() but boxes only suppress boxes of the same class: classes (N) I32 (any values).
// Equivalent to running nms() per class and merging the kept lists by (score desc, index).
Tensor batched_nms(Context& ctx, const Tensor& boxes, const Tensor& scores, const Tensor& classes, double iou_thresh);

struct DetectConfig {
  float score_thresh = 0.05f;  // candidates need prob > score_thresh (py-faster-rcnn test_net)
  double nms_thresh = 0.3;     // per-class NMS IoU (compared as nms() does)
  int max_per_image = 100;     // keep the top-scoring ones after NMS; <= 0: no cap
};

struct Detections {
  Tensor boxes;   // (D, 4) F32
  Tensor scores;  // (D) F32, descending
  Tensor labels;  // (D) I32 in 1..K
};

// Final detections of ONE image from the Fast R-CNN head:
//   boxes: (R, 4*(K+1)) class-specific decoded boxes; probs: (R, K+1) softmax output,
//   column 0 the background (never detected).
// Candidates are (r, k) for k in 1..K with probs[r, k] > score_thresh, numbered
// c = r*K + (k-1); batched NMS over them with class k; the first max_per_image of the
// kept list (score desc, then c asc) are returned. (py-faster-rcnn instead keeps every
// detection scoring >= the 100th score, so it can return more than 100 on ties.)
// CUDA keeps the candidate count on the device and reads the kept count back: one sync.
Detections detect_per_class(Context& ctx, const Tensor& boxes, const Tensor& probs, const DetectConfig& cfg = {});

// The fixed-capacity form, for a detector that reads one thing back per image (and can be
// captured in a CUDA graph): the detections of the first *rows rows only (rows: (1) I32 on
// the op's device, e.g. FixedProposals::count; later rows are padding), with every box
// coordinate v mapped to scale_box_coord(v, *box_scale) (box_scale: (1) F32 on the device;
// 1/scale gives original-image coordinates), packed into one I32 tensor of
// packed_detection_words(cap) words that a single copy brings back:
//   word 0: *rows, word 1: D, then boxes (cap, 4) F32, scores (cap) F32, labels (cap) I32,
//   rows [D, cap) zero, cap = detection_capacity(R, K, cfg).
// The valid rows are detect_per_class()'s on the first *rows rows, boxes then scaled.
int64_t detection_capacity(int64_t R, int64_t K, const DetectConfig& cfg);
constexpr int64_t packed_detection_words(int64_t cap) { return 2 + 6 * cap; }
Tensor detect_per_class_packed(Context& ctx, const Tensor& boxes, const Tensor& probs, const Tensor& rows,
                               const Tensor& box_scale, const DetectConfig& cfg = {});
// A host copy of detect_per_class_packed's words -> CPU tensors (D rows) and *rows.
Detections unpack_detections(const int32_t* words, int64_t cap, int* rows = nullptr);

// v * s as tensor_scaled(s, x) computes it (0 + s * v; s == 1 leaves v as it is).
FRCNN_HD float scale_box_coord(float v, float s) { return s == 1.f ? v : 0.f + s * v; }

}  // namespace frcnn
