// RoI max-pool bin arithmetic shared by the CPU and CUDA kernels (FRCNN_HD), with the
// Caffe / torchvision rounding rules:
//   start = round(x1 * scale), end = round(x2 * scale)   (round half away from zero)
//   roi size = max(end - start + 1, 1)                   (the +1 of Caffe's inclusive
//                                                         pixel indices, kept as is)
//   bin p: [floor(p * size / pooled), ceil((p + 1) * size / pooled)) + start, clamped
//          to [0, limit]; a bin with end <= start is empty.
// All of it is integer or correctly rounded float arithmetic, so both devices get the
// same bins.
#pragma once
#include <math.h>

#include "engine/host_device.h"

namespace frcnn {

struct RoiWindow {
  int start_h, start_w;  // feature-map cell of the RoI's top-left corner
  int size_h, size_w;    // RoI extent in cells (>= 1)
};

// roi: (x1, y1, x2, y2) in image coordinates.
FRCNN_HD RoiWindow roi_window(const float* roi, float spatial_scale) {
  RoiWindow w;
  w.start_w = static_cast<int>(roundf(roi[0] * spatial_scale));
  w.start_h = static_cast<int>(roundf(roi[1] * spatial_scale));
  const int end_w = static_cast<int>(roundf(roi[2] * spatial_scale));
  const int end_h = static_cast<int>(roundf(roi[3] * spatial_scale));
  w.size_w = end_w - w.start_w + 1 > 1 ? end_w - w.start_w + 1 : 1;
  w.size_h = end_h - w.start_h + 1 > 1 ? end_h - w.start_h + 1 : 1;
  return w;
}

// Bin p of `pooled` along one axis: [*begin, *end) in feature cells, clamped to [0, limit].
FRCNN_HD void roi_bin(int p, int pooled, int roi_start, int roi_size, int limit, int* begin, int* end) {
  const float bin = static_cast<float>(roi_size) / static_cast<float>(pooled);
  int b = static_cast<int>(floorf(static_cast<float>(p) * bin)) + roi_start;
  int e = static_cast<int>(ceilf(static_cast<float>(p + 1) * bin)) + roi_start;
  *begin = b < 0 ? 0 : (b > limit ? limit : b);
  *end = e < 0 ? 0 : (e > limit ? limit : e);
}

}  // namespace frcnn
