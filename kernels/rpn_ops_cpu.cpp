// CPU references of rpn_ops.h: plain loops.
#include <cmath>
#include <cstdint>

#include "kernels/rpn_ops.h"

namespace frcnn {

// logits: (2A, HW), channel a*2 + k -> out: (A, HW)
void rpn_foreground_probs_cpu(const float* logits, float* out, int A, int HW) {
  for (int a = 0; a < A; ++a)
    for (int i = 0; i < HW; ++i)
      out[a * HW + i] = pair_softmax_fg(logits[(2 * a) * HW + i], logits[(2 * a + 1) * HW + i]);
}

// boxes: (P, 4) -> rois: (P, 5)
void boxes_to_rois_cpu(const float* boxes, float* rois, int64_t P, int batch_index) {
  for (int64_t p = 0; p < P; ++p) {
    rois[p * 5] = static_cast<float>(batch_index);
    for (int j = 0; j < 4; ++j) rois[p * 5 + 1 + j] = boxes[p * 4 + j];
  }
}

}  // namespace frcnn
