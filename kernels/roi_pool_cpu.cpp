// CPU reference for roi_pool.h: plain loop nests.
#include <cfloat>
#include <cstdint>

#include "kernels/roi_pool_math.h"

namespace frcnn {

// The batch index of a RoI, or -1 when it is not an integer in [0, N).
inline int roi_batch(float b, int N) {
  const int n = static_cast<int>(b);
  return (static_cast<float>(n) == b && n >= 0 && n < N) ? n : -1;
}

// features: (N, C, H, W), rois: (R, 5) -> out, argmax: (R, C, PH, PW)
void roi_pool_forward_cpu(const float* features, int N, int C, int H, int W, const float* rois, int R, int PH,
                          int PW, float scale, float* out, int32_t* argmax) {
  for (int r = 0; r < R; ++r) {
    const float* roi = rois + 5 * r;
    const int n = roi_batch(roi[0], N);
    const RoiWindow win = roi_window(roi + 1, scale);
    for (int c = 0; c < C; ++c) {
      const float* plane = features + (int64_t(n < 0 ? 0 : n) * C + c) * H * W;
      for (int ph = 0; ph < PH; ++ph) {
        int h0, h1;
        roi_bin(ph, PH, win.start_h, win.size_h, H, &h0, &h1);
        for (int pw = 0; pw < PW; ++pw) {
          int w0, w1;
          roi_bin(pw, PW, win.start_w, win.size_w, W, &w0, &w1);
          const bool empty = n < 0 || h1 <= h0 || w1 <= w0;
          float best = empty ? 0.f : -FLT_MAX;
          int32_t arg = -1;
          if (!empty)
            for (int h = h0; h < h1; ++h)
              for (int w = w0; w < w1; ++w)
                if (plane[h * W + w] > best) {
                  best = plane[h * W + w];
                  arg = h * W + w;
                }
          const int64_t o = ((int64_t(r) * C + c) * PH + ph) * PW + pw;
          out[o] = best;
          argmax[o] = arg;
        }
      }
    }
  }
}

// grad_out, argmax: (R, C, PH, PW), rois: (R, 5) -> grad (N, C, H, W), zeroed here.
// Scatter in ascending (r, c, ph, pw): per element, ascending (r, ph, pw) (roi_pool.h).
void roi_pool_backward_cpu(const float* grad_out, const int32_t* argmax, const float* rois, int R, int N, int C,
                           int H, int W, int PH, int PW, float* grad) {
  for (int64_t i = 0; i < int64_t(N) * C * H * W; ++i) grad[i] = 0.f;
  for (int r = 0; r < R; ++r) {
    const int n = roi_batch(rois[5 * r], N);
    if (n < 0) continue;
    for (int c = 0; c < C; ++c)
      for (int p = 0; p < PH * PW; ++p) {
        const int64_t o = (int64_t(r) * C + c) * PH * PW + p;
        const int32_t a = argmax[o];
        if (a >= 0 && a < H * W) grad[(int64_t(n) * C + c) * H * W + a] += grad_out[o];
      }
  }
}

}  // namespace frcnn
