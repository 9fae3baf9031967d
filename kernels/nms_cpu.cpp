// CPU path for nms.h: stable sort, then the greedy loop over a compacted copy of the
// boxes that are still candidates.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/box_math.h"
#include "kernels/nms.h"
#include "kernels/nms_impl.h"
#include "kernels/score_order.h"

namespace frcnn::nms_detail {

std::vector<int32_t> order_by_score_desc(const float* scores, int64_t n) {
  std::vector<int32_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return score_before(scores[a], scores[b]); });
  return order;
}

namespace {

// The textbook greedy loop with box_iou() itself. Kept for boxes with a NaN coordinate,
// where fminf/fmaxf (which drop a NaN operand) decide the IoU; the fast loop below
// assumes none. boxes: (n, 4) in visiting order; classes: (n) or nullptr
std::vector<int32_t> nms_sorted_textbook(const float* boxes, const int32_t* classes, int64_t n, float thresh,
                                         int64_t max_keep) {
  std::vector<int32_t> keep;
  std::vector<char> suppressed(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    if (suppressed[i]) continue;
    keep.push_back(static_cast<int32_t>(i));
    if (max_keep > 0 && static_cast<int64_t>(keep.size()) >= max_keep) break;
    for (int64_t j = i + 1; j < n; ++j) {
      if (suppressed[j] || (classes && classes[j] != classes[i])) continue;
      if (box_iou(boxes + 4 * i, boxes + 4 * j) > thresh) suppressed[j] = 1;
    }
  }
  return keep;
}

// The same greedy loop on NaN-free boxes, fast: the candidates still alive live in
// structure-of-arrays form (x1, y1, x2, y2, area, class, position), in visiting order.
// The head is the next kept box; one pass computes its IoU with every later candidate
// into a flag array (branch-free, so the compiler vectorises it), a second pass compacts
// the survivors, starting at the first suppressed one. Suppressed boxes are never looked
// at again, so the work is sum over kept boxes of the candidates left, not of n - i.
//
// Same decisions as box_iou(), operation for operation: area from box_area() once per
// box, the same min/max/subtract/multiply/add/divide in the same order. Only the min/max
// differ: `a < b ? a : b` instead of fminf. On non-NaN operands they give the same value
// and can differ only in the sign of a zero result, which at most flips the sign of a
// zero intersection, hence of a zero IoU, and -0 > t exactly when +0 > t. The clamp
// `d > 0 ? d : 0` maps a NaN difference (inf - inf) to 0 as fmaxf(d, 0) does.
struct Candidates {
  std::vector<float> x1, y1, x2, y2, area;
  std::vector<int32_t> cls, pos;
  explicit Candidates(int64_t n)
      : x1(size_t(n)), y1(size_t(n)), x2(size_t(n)), y2(size_t(n)), area(size_t(n)), cls(size_t(n)), pos(size_t(n)) {}
};

inline float min_ordered(float a, float b) { return a < b ? a : b; }
inline float max_ordered(float a, float b) { return a > b ? a : b; }

std::vector<int32_t> nms_sorted_compacting(const float* boxes, const int32_t* classes, int64_t n, float thresh,
                                           int64_t max_keep) {
  Candidates c(n);
  for (int64_t i = 0; i < n; ++i) {
    const float* b = boxes + 4 * i;
    c.x1[i] = b[0];
    c.y1[i] = b[1];
    c.x2[i] = b[2];
    c.y2[i] = b[3];
    c.area[i] = box_area(b[0], b[1], b[2], b[3]);
    c.cls[i] = classes ? classes[i] : 0;  // one class: every pair compares equal
    c.pos[i] = static_cast<int32_t>(i);
  }
  const int32_t zero_suppresses = 0.f > thresh;       // an IoU of 0 suppresses (thresh < 0)
  std::vector<int32_t> flag(static_cast<size_t>(n));  // 1: suppressed by the current head
  std::vector<int32_t> keep;
  int64_t head = 0, live = n;  // candidates: [head, live)
  while (head < live) {
    keep.push_back(c.pos[head]);
    if (max_keep > 0 && static_cast<int64_t>(keep.size()) >= max_keep) break;
    const float ax1 = c.x1[head], ay1 = c.y1[head], ax2 = c.x2[head], ay2 = c.y2[head], aa = c.area[head];
    const int32_t acls = c.cls[head];
    const float *x1 = c.x1.data(), *y1 = c.y1.data(), *x2 = c.x2.data(), *y2 = c.y2.data(), *ar = c.area.data();
    const int32_t* cl = c.cls.data();
    int32_t* f = flag.data();
    int32_t hits = 0;
    // j: candidates after the head, (live - head - 1)
    for (int64_t j = head + 1; j < live; ++j) {
      const float iw = max_ordered(min_ordered(ax2, x2[j]) - max_ordered(ax1, x1[j]), 0.f);
      const float ih = max_ordered(min_ordered(ay2, y2[j]) - max_ordered(ay1, y1[j]), 0.f);
      const float inter = fmul_rn(iw, ih);
      const float uni = aa + ar[j] - inter;
      // box_iou() is `uni > 0 ? inter / uni : 0`; as a float select GCC keeps it a branch
      // (the division could trap), so decide the two cases apart: q > thresh where
      // uni > 0, 0 > thresh elsewhere. isgreater() is > as a quiet compare, which GCC
      // vectorises under its default -ftrapping-math where > stays scalar.
      const float q = inter / uni;
      const int32_t has_union = std::isgreater(uni, 0.f);
      const int32_t s =
          ((has_union & std::isgreater(q, thresh)) | ((1 - has_union) & zero_suppresses)) & (cl[j] == acls);
      f[j] = s;
      hits += s;
    }
    ++head;
    if (hits == 0) continue;
    int64_t out = head;
    while (!f[out]) ++out;  // the first suppressed one: everything before it stays put
    for (int64_t j = out + 1; j < live; ++j) {
      if (f[j]) continue;
      c.x1[out] = c.x1[j];
      c.y1[out] = c.y1[j];
      c.x2[out] = c.x2[j];
      c.y2[out] = c.y2[j];
      c.area[out] = c.area[j];
      c.cls[out] = c.cls[j];
      c.pos[out] = c.pos[j];
      ++out;
    }
    live = out;
  }
  return keep;
}

}  // namespace

// boxes: (n, 4) in visiting order; classes: (n) or nullptr
std::vector<int32_t> nms_sorted_cpu(const float* boxes, const int32_t* classes, int64_t n, double iou_thresh,
                                    int64_t max_keep) {
  const float thresh = nms_float_threshold(iou_thresh);  // float iou > thresh <=> double(iou) > iou_thresh
  bool nan = false;
  for (int64_t i = 0; i < 4 * n; ++i) nan |= boxes[i] != boxes[i];
  return nan ? nms_sorted_textbook(boxes, classes, n, thresh, max_keep)
             : nms_sorted_compacting(boxes, classes, n, thresh, max_keep);
}

}  // namespace frcnn::nms_detail
