// Host-side launchers of nms_cuda.cu, on the stream they are given. Internal: included
// by nms.cpp (the dispatcher) and nms_cuda.cu only; compiled with the CUDA backend.
#pragma once
#include "kernels/nms.h"
#include "kernels/nms_impl.h"

namespace frcnn {

namespace nms_detail {
// Device version of nms_sorted_cpu. boxes: (n_max, 4), classes: (n_max) or nullptr; the
// number of valid boxes is *n_dev (device memory, <= n_max) or n_max when n_dev is
// nullptr. Writes kept positions to keep_out (n_max) and their count to *count_out
// (device). Everything stays on the device.
void nms_sorted_cuda(const float* boxes, const int32_t* classes, int n_max, const int32_t* n_dev, double iou_thresh,
                     int max_keep, int32_t* keep_out, int32_t* count_out, const Device& dev, Stream stream);
}  // namespace nms_detail

Tensor nms_cuda(const Tensor& boxes, const Tensor& scores, const Tensor& classes, double iou_thresh, int max_keep,
                Stream s);
Detections detect_per_class_cuda(const Tensor& boxes, const Tensor& probs, const DetectConfig& cfg, Stream s);

// detect_per_class into fixed buffers (nms.h, detect_per_class_packed): boxes (R, 4(K+1)),
// probs (R, K+1) on the device; rows of index >= *rows_dev ignored (all R when null);
// boxes mapped by *box_scale_dev (none when null); out_boxes (cap, 4), out_scores (cap),
// out_labels (cap), *out_count = D, *out_rows = the valid rows (when not null). No sync.
void detect_per_class_into_cuda(const float* boxes, const float* probs, int R, int K, const int32_t* rows_dev,
                                const float* box_scale_dev, const DetectConfig& cfg, int cap, float* out_boxes,
                                float* out_scores, int32_t* out_labels, int32_t* out_count, int32_t* out_rows,
                                const Device& dev, Stream s);

}  // namespace frcnn
