// CPU half of anchors.h: the base table (py-faster-rcnn's rounding) and the shift loop.
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "kernels/anchors.h"

namespace frcnn {

Tensor base_anchors(int stride, const std::vector<float>& sizes, const std::vector<float>& ratios) {
  if (stride <= 0) throw std::invalid_argument("base_anchors: stride must be positive, got " + std::to_string(stride));
  if (sizes.empty() || ratios.empty()) throw std::invalid_argument("base_anchors: empty sizes or ratios");
  for (float s : sizes)
    if (!(s > 0)) throw std::invalid_argument("base_anchors: anchor sizes must be positive");
  for (float r : ratios)
    if (!(r > 0)) throw std::invalid_argument("base_anchors: aspect ratios must be positive");
  const int64_t A = static_cast<int64_t>(sizes.size() * ratios.size());
  Tensor out = Tensor::empty({A, 4});
  float* o = out.data<float>();
  const double base = stride, ctr = 0.5 * stride;  // continuous centre of cell (0, 0)
  int64_t a = 0;
  for (float ratio : ratios) {
    // py-faster-rcnn _ratio_enum: np.round is round-half-to-even = nearbyint (default mode)
    const double ws = std::nearbyint(std::sqrt(base * base / ratio));
    const double hs = std::nearbyint(ws * ratio);
    for (float size : sizes) {
      const double scale = size / base;  // _scale_enum
      const double w = ws * scale, h = hs * scale;
      o[4 * a + 0] = static_cast<float>(ctr - 0.5 * w);
      o[4 * a + 1] = static_cast<float>(ctr - 0.5 * h);
      o[4 * a + 2] = static_cast<float>(ctr + 0.5 * w);
      o[4 * a + 3] = static_cast<float>(ctr + 0.5 * h);
      ++a;
    }
  }
  return out;
}

// base: (A, 4) -> out: (H*W*A, 4)
void make_anchors_cpu(const float* base, int A, int feat_h, int feat_w, int stride, float* out) {
  const int K = feat_h * feat_w * A;
  for (int k = 0; k < K; ++k)
    for (int j = 0; j < 4; ++j) out[4 * k + j] = shifted_anchor(base, k, j, feat_w, A, stride);
}

}  // namespace frcnn
