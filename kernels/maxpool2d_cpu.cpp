#include <algorithm>

#include "kernels/maxpool2d.h"

namespace frcnn {

// x: (planes, H, W); y, argmax: (planes, Ho, Wo)
void maxpool2d_forward_cpu(const float* x, float* y, int32_t* argmax, int64_t planes, int64_t H, int64_t W, int64_t Ho,
                           int64_t Wo, int k, int s) {
  for (int64_t p = 0; p < planes; ++p) {
    const float* xp = x + p * H * W;
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow) {
        int64_t h0 = oh * s, w0 = ow * s;
        int64_t h1 = std::min<int64_t>(h0 + k, H), w1 = std::min<int64_t>(w0 + k, W);
        float best = xp[h0 * W + w0];
        int64_t arg = h0 * W + w0;
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w)
            if (xp[h * W + w] > best) {
              best = xp[h * W + w];
              arg = h * W + w;
            }
        y[(p * Ho + oh) * Wo + ow] = best;
        argmax[(p * Ho + oh) * Wo + ow] = static_cast<int32_t>(arg);
      }
  }
}

// gy, argmax: (planes, Ho, Wo); gx: (planes, H, W)
void maxpool2d_backward_cpu(const float* gy, const int32_t* argmax, float* gx, int64_t planes, int64_t H, int64_t W,
                            int64_t Ho, int64_t Wo, int k, int s) {
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t w = 0; w < W; ++w)
        gx[(p * H + h) * W + w] = maxpool2d_input_grad(gy, argmax, p, h, w, W, Ho, Wo, k, s);
}

}  // namespace frcnn
