// CPU reference for nms.h: stable sort, then the textbook greedy loop.
#include <algorithm>
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

// boxes: (n, 4) in visiting order; classes: (n) or nullptr
std::vector<int32_t> nms_sorted_cpu(const float* boxes, const int32_t* classes, int64_t n, double iou_thresh,
                                    int64_t max_keep) {
  const float thresh = nms_float_threshold(iou_thresh);  // float iou > thresh <=> double(iou) > iou_thresh
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

}  // namespace frcnn::nms_detail
