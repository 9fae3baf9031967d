// Dispatch and argument checks for nms.h, and the CPU paths (sort + greedy loop from
// nms_cpu.cpp).
#include "kernels/nms.h"

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

Detections detect_per_class(Context& ctx, const Tensor& boxes, const Tensor& probs, const DetectConfig& cfg) {
  const char* op = "detect_per_class";
  require(probs.defined() && probs.dtype() == DType::F32 && probs.ndim() == 2 && probs.size(1) >= 2, op,
          "probs must be F32 (R, K+1) with K >= 1, got " + desc(probs));
  const int64_t R = probs.size(0), K1 = probs.size(1);
  require(boxes.defined() && boxes.dtype() == DType::F32 && boxes.ndim() == 2 && boxes.size(0) == R &&
              boxes.size(1) == 4 * K1,
          op, "boxes must be F32 (R, 4*(K+1)) = (" + std::to_string(R) + ", " + std::to_string(4 * K1) +
                  "), got " + desc(boxes));
  [[maybe_unused]] Device dev = common_device(op, {&boxes, &probs});
#if FRCNN_WITH_CUDA
  if (dev.is_cuda()) return detect_per_class_cuda(boxes, probs, cfg, ctx.stream());
#endif
  // candidates (r, k), k >= 1, in order c = r*K + (k-1)
  const float* b = boxes.data<float>();
  const float* p = probs.data<float>();
  std::vector<float> cb, cs;
  std::vector<int32_t> cl;
  for (int64_t r = 0; r < R; ++r)
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

}  // namespace frcnn
