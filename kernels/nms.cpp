// Dispatch and argument checks for nms.h, and the CPU paths (sort + greedy loop from
// nms_cpu.cpp).
#include "kernels/nms.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "kernels/dispatch.h"
#include "kernels/nms_impl.h"

#if FRCNN_WITH_CUDA
#include "kernels/nms_cuda.h"
#endif

namespace frcnn {

using namespace kernels_detail;
using namespace nms_detail;

float nms_float_threshold(double t) {
  if (!(t < double(FLT_MAX))) return t == INFINITY ? INFINITY : FLT_MAX;  // NaN is refused by the callers
  if (t < -double(FLT_MAX)) return -INFINITY;
  float f = static_cast<float>(t);  // the nearest float, which may lie above t
  if (double(f) > t) f = std::nextafter(f, -INFINITY);
  return f;
}

// boxes: (n, 4), scores: (n), classes: (n) or undefined -> kept indices, score order
static Tensor nms_cpu(const Tensor& boxes, const Tensor& scores, const Tensor& classes, double iou_thresh,
                      int64_t max_keep) {
  const int64_t n = boxes.size(0);
  const float* b = boxes.data<float>();
  const int32_t* c = classes.defined() ? classes.data<int32_t>() : nullptr;
  std::vector<int32_t> order = order_by_score_desc(scores.data<float>(), n);
  std::vector<float> sorted_boxes(static_cast<size_t>(4 * n));
  std::vector<int32_t> sorted_cls(c ? static_cast<size_t>(n) : 0);
  for (int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < 4; ++j) sorted_boxes[4 * i + j] = b[4 * order[i] + j];
    if (c) sorted_cls[i] = c[order[i]];
  }
  std::vector<int32_t> keep =
      nms_sorted_cpu(sorted_boxes.data(), c ? sorted_cls.data() : nullptr, n, iou_thresh, max_keep);
  for (auto& k : keep) k = order[k];
  return Tensor::from_vector<int32_t>({static_cast<int64_t>(keep.size())}, keep);
}

static void check_nms_args(const char* op, const Tensor& boxes, const Tensor& scores, double iou_thresh) {
  require_boxes(op, boxes, "boxes");
  require(scores.defined() && scores.dtype() == DType::F32 && scores.ndim() == 1 && scores.size(0) == boxes.size(0),
          op, "scores must be F32 (N) with N = " + std::to_string(boxes.size(0)) + ", got " + desc(scores));
  require(iou_thresh == iou_thresh, op, "iou_thresh is NaN");
  require(boxes.size(0) < (int64_t(1) << 31), op, "more than 2^31 boxes");
}

Tensor nms(Context& ctx, const Tensor& boxes, const Tensor& scores, double iou_thresh) {
  check_nms_args("nms", boxes, scores, iou_thresh);
  [[maybe_unused]] Device dev = common_device("nms", {&boxes, &scores});
#if FRCNN_WITH_CUDA
  if (dev.is_cuda()) return nms_cuda(boxes, scores, Tensor(), iou_thresh, 0, ctx.stream());
#endif
  return nms_cpu(boxes, scores, Tensor(), iou_thresh, 0);
}

Tensor batched_nms(Context& ctx, const Tensor& boxes, const Tensor& scores, const Tensor& classes, double iou_thresh) {
  check_nms_args("batched_nms", boxes, scores, iou_thresh);
  require(classes.defined() && classes.dtype() == DType::I32 && classes.ndim() == 1 &&
              classes.size(0) == boxes.size(0),
          "batched_nms", "classes must be I32 (N) with N = " + std::to_string(boxes.size(0)) + ", got " +
                             desc(classes));
  [[maybe_unused]] Device dev = common_device("batched_nms", {&boxes, &scores, &classes});
#if FRCNN_WITH_CUDA
  if (dev.is_cuda()) return nms_cuda(boxes, scores, classes, iou_thresh, 0, ctx.stream());
#endif
  return nms_cpu(boxes, scores, classes, iou_thresh, 0);
}

namespace {

void check_detect_args(const char* op, const Tensor& boxes, const Tensor& probs, const DetectConfig& cfg) {
  require(probs.defined() && probs.dtype() == DType::F32 && probs.ndim() == 2 && probs.size(1) >= 2, op,
          "probs must be F32 (R, K+1) with K >= 1, got " + desc(probs));
  const int64_t R = probs.size(0), K1 = probs.size(1);
  require(boxes.defined() && boxes.dtype() == DType::F32 && boxes.ndim() == 2 && boxes.size(0) == R &&
              boxes.size(1) == 4 * K1,
          op, "boxes must be F32 (R, 4*(K+1)) = (" + std::to_string(R) + ", " + std::to_string(4 * K1) +
                  "), got " + desc(boxes));
  require(R * (K1 - 1) < (int64_t(1) << 30), op, "too many candidates (R * K >= 2^30)");
  require(cfg.nms_thresh == cfg.nms_thresh, op, "nms_thresh is NaN");
}

// The CPU path on the first `rows` rows. boxes: (R, 4*(K+1)), probs: (R, K+1)
Detections detect_per_class_cpu(const float* b, const float* p, int64_t rows, int64_t K1, const DetectConfig& cfg) {
  // candidates (r, k), k >= 1, in order c = r*K + (k-1)
  std::vector<float> cb, cs;
  std::vector<int32_t> cl;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 1; k < K1; ++k) {
      float s = p[r * K1 + k];
      if (!(s > cfg.score_thresh)) continue;
      for (int j = 0; j < 4; ++j) cb.push_back(b[(r * K1 + k) * 4 + j]);
      cs.push_back(s);
      cl.push_back(static_cast<int32_t>(k));
    }
  const int64_t n = static_cast<int64_t>(cs.size());
  Tensor tb = Tensor::from_vector<float>({n, 4}, cb), ts = Tensor::from_vector<float>({n}, cs),
         tl = Tensor::from_vector<int32_t>({n}, cl);
  std::vector<int32_t> keep = nms_cpu(tb, ts, tl, cfg.nms_thresh, cfg.max_per_image).to_vector<int32_t>();
  const int64_t d = static_cast<int64_t>(keep.size());
  Detections out{Tensor::empty({d, 4}), Tensor::empty({d}), Tensor::empty({d}, DType::I32)};
  for (int64_t i = 0; i < d; ++i) {
    for (int j = 0; j < 4; ++j) out.boxes.data<float>()[4 * i + j] = cb[4 * keep[i] + j];
    out.scores.data<float>()[i] = cs[keep[i]];
    out.labels.data<int32_t>()[i] = cl[keep[i]];
  }
  return out;
}

}  // namespace

Detections detect_per_class(Context& ctx, const Tensor& boxes, const Tensor& probs, const DetectConfig& cfg) {
  const char* op = "detect_per_class";
  check_detect_args(op, boxes, probs, cfg);
  [[maybe_unused]] Device dev = common_device(op, {&boxes, &probs});
#if FRCNN_WITH_CUDA
  if (dev.is_cuda()) return detect_per_class_cuda(boxes, probs, cfg, ctx.stream());
#endif
  return detect_per_class_cpu(boxes.data<float>(), probs.data<float>(), probs.size(0), probs.size(1), cfg);
}

int64_t detection_capacity(int64_t R, int64_t K, const DetectConfig& cfg) {
  return cfg.max_per_image > 0 ? std::min<int64_t>(R * K, cfg.max_per_image) : R * K;
}

Tensor detect_per_class_packed(Context& ctx, const Tensor& boxes, const Tensor& probs, const Tensor& rows,
                               const Tensor& box_scale, const DetectConfig& cfg) {
  const char* op = "detect_per_class_packed";
  check_detect_args(op, boxes, probs, cfg);
  require(rows.defined() && rows.dtype() == DType::I32 && rows.numel() == 1, op,
          "rows must be a 1-element I32 tensor, got " + desc(rows));
  require(box_scale.defined() && box_scale.dtype() == DType::F32 && box_scale.numel() == 1, op,
          "box_scale must be a 1-element F32 tensor, got " + desc(box_scale));
  const Device dev = common_device(op, {&boxes, &probs, &rows, &box_scale});
  const int64_t R = probs.size(0), K = probs.size(1) - 1, cap = detection_capacity(R, K, cfg);
  Tensor out = Tensor::empty({packed_detection_words(cap)}, DType::I32, dev, ctx.stream());
  int32_t* w = out.data<int32_t>();
  float* ob = reinterpret_cast<float*>(w + 2);
  float* os = ob + 4 * cap;
  int32_t* ol = w + 2 + 5 * cap;
#if FRCNN_WITH_CUDA
  if (dev.is_cuda()) {
    detect_per_class_into_cuda(boxes.data<float>(), probs.data<float>(), int(R), int(K), rows.data<int32_t>(),
                               box_scale.data<float>(), cfg, int(cap), ob, os, ol, w + 1, w, dev, ctx.stream());
    return out;
  }
#endif
  const int64_t valid = std::clamp<int64_t>(rows.data<int32_t>()[0], 0, R);
  const float s = box_scale.data<float>()[0];
  Detections d = detect_per_class_cpu(boxes.data<float>(), probs.data<float>(), valid, K + 1, cfg);
  const int64_t D = d.scores.numel();
  std::fill_n(w, packed_detection_words(cap), 0);
  w[0] = static_cast<int32_t>(valid);
  w[1] = static_cast<int32_t>(D);
  for (int64_t i = 0; i < 4 * D; ++i) ob[i] = scale_box_coord(d.boxes.data<float>()[i], s);
  std::copy_n(d.scores.data<float>(), D, os);
  std::copy_n(d.labels.data<int32_t>(), D, ol);
  return out;
}

Detections unpack_detections(const int32_t* w, int64_t cap, int* rows) {
  const int64_t D = w[1];
  if (D < 0 || D > cap) throw std::logic_error("unpack_detections: count " + std::to_string(D) + " outside [0, " +
                                               std::to_string(cap) + "]");
  if (rows) *rows = w[0];
  const float* ob = reinterpret_cast<const float*>(w + 2);
  const float* os = ob + 4 * cap;
  const int32_t* ol = w + 2 + 5 * cap;
  Detections d{Tensor::empty({D, 4}), Tensor::empty({D}), Tensor::empty({D}, DType::I32)};
  std::copy_n(ob, 4 * D, d.boxes.data<float>());
  std::copy_n(os, D, d.scores.data<float>());
  std::copy_n(ol, D, d.labels.data<int32_t>());
  return d;
}

}  // namespace frcnn
