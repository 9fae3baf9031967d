// Internal: the NMS building blocks shared by nms.cpp and the proposal layer.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/device.h"
#include "engine/stream.h"

namespace frcnn::nms_detail {

// Indices 0..n-1 in visiting order (kernels/score_order.h: descending, NaN last, ties
// by index ascending).
std::vector<int32_t> order_by_score_desc(const float* scores, int64_t n);

// Greedy NMS over boxes already in visiting order: boxes (n, 4), classes (n) or nullptr
// (all one class). Returns kept positions (ascending = visiting order), at most
// max_keep of them (max_keep <= 0: no cap). iou_thresh as in nms() (nms.h).
std::vector<int32_t> nms_sorted_cpu(const float* boxes, const int32_t* classes, int64_t n, double iou_thresh,
                                    int64_t max_keep);

}  // namespace frcnn::nms_detail
