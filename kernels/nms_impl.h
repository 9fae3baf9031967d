// Internal: the NMS building blocks shared by nms.cpp and the proposal layer.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/device.h"
#include "engine/stream.h"

namespace frcnn::nms_detail {

// Indices 0..n-1 ordered by score descending, ties by index ascending (stable).
std::vector<int32_t> order_by_score_desc(const float* scores, int64_t n);

// Greedy NMS over boxes already in visiting order: boxes (n, 4), classes (n) or nullptr
// (all one class). Returns kept positions (ascending = visiting order), at most
// max_keep of them (max_keep <= 0: no cap).
std::vector<int32_t> nms_sorted_cpu(const float* boxes, const int32_t* classes, int64_t n, float thresh,
                                    int64_t max_keep);

#if FRCNN_WITH_CUDA
// Device version of nms_sorted_cpu. boxes: (n_max, 4), classes: (n_max) or nullptr; the
// number of valid boxes is *n_dev (device memory, <= n_max) or n_max when n_dev is
// nullptr. Writes kept positions to keep_out (n_max) and their count to *count_out
// (device). Everything stays on the device.
void nms_sorted_cuda(const float* boxes, const int32_t* classes, int n_max, const int32_t* n_dev, float thresh,
                     int max_keep, int32_t* keep_out, int32_t* count_out, const Device& dev, Stream stream);
#endif

}  // namespace frcnn::nms_detail
