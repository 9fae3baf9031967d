// CPU reference for box_ops.h: plain loops over boxes; the maths is box_math.h.
#include <cstdint>
#include <vector>

#include "kernels/box_math.h"

namespace frcnn {

// a: (n, 4), b: (m, 4) -> out: (n, m)
void box_iou_cpu(const float* a, int64_t n, const float* b, int64_t m, float* out) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) out[i * m + j] = box_iou(a + 4 * i, b + 4 * j);
}

// refs, gts: (n, 4) -> out: (n, 4)
void encode_boxes_cpu(const float* refs, const float* gts, int64_t n, const BoxCoder& c, float* out) {
  for (int64_t i = 0; i < n; ++i) encode_box(refs + 4 * i, gts + 4 * i, c, out + 4 * i);
}

// refs: (n, 4), deltas: (n, 4*classes) -> out: (n, 4*classes)
void decode_boxes_cpu(const float* refs, const float* deltas, int64_t n, int64_t classes, const BoxCoder& c,
                      float* out) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < classes; ++k)
      decode_box(refs + 4 * i, deltas + (i * classes + k) * 4, c, out + (i * classes + k) * 4);
}

// in, out: (nboxes, 4)
void clip_boxes_cpu(const float* in, int64_t nboxes, float img_h, float img_w, float* out) {
  for (int64_t i = 0; i < nboxes; ++i) {
    for (int j = 0; j < 4; ++j) out[4 * i + j] = in[4 * i + j];
    clip_box(out + 4 * i, img_h, img_w);
  }
}

// boxes: (n, 4) -> ascending indices passing the filter
std::vector<int32_t> min_size_keep_cpu(const float* boxes, int64_t n, float min_size) {
  std::vector<int32_t> keep;
  for (int64_t i = 0; i < n; ++i)
    if (box_min_size_ok(boxes + 4 * i, min_size)) keep.push_back(static_cast<int32_t>(i));
  return keep;
}

}  // namespace frcnn
