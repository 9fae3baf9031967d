// CPU path for roi_pool.h: plain loop nests (forward: channel blocks, see there).
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/roi_pool_math.h"

namespace frcnn {

// The batch index of a RoI, or -1 when it is not an integer in [0, N).
inline int roi_batch(float b, int N) {
  const int n = static_cast<int>(b);
  return (static_cast<float>(n) == b && n >= 0 && n < N) ? n : -1;
}

// Channels per block of the forward pass: one 64-byte line of a channels-last cell.
constexpr int kRoiBlock = 16;

// features: (N, C, H, W), rois: (R, 5) -> out, argmax: (R, C, PH, PW)
//
// Each output is the scan of roi_pool.h: its bin's cells in row-major order, strict >
// from -FLT_MAX. To make that fast the loop nest runs over blocks of kRoiBlock channels:
// the block is copied channels-last, (N, H, W, kRoiBlock), so one cell's kRoiBlock values
// are contiguous and the innermost loop compares all of them at once (vectorised); the
// bin bounds are computed once per RoI, not once per channel. Every channel still sees
// its cells in the same order with the same compare, so output and argmax are those of
// the plain per-channel scan, bit for bit.
void roi_pool_forward_cpu(const float* features, int N, int C, int H, int W, const float* rois, int R, int PH,
                          int PW, float scale, float* out, int32_t* argmax) {
  const int64_t HW = int64_t(H) * W;
  // per RoI: batch index (-1: bad), row bins [h0, h1) (PH), column bins [w0, w1) (PW)
  std::vector<int> batch(static_cast<size_t>(R)), hbin(size_t(R) * PH * 2), wbin(size_t(R) * PW * 2);
  for (int r = 0; r < R; ++r) {
    const float* roi = rois + 5 * r;
    batch[r] = roi_batch(roi[0], N);
    const RoiWindow win = roi_window(roi + 1, scale);
    for (int ph = 0; ph < PH; ++ph) {
      int* b = &hbin[(size_t(r) * PH + ph) * 2];
      roi_bin(ph, PH, win.start_h, win.size_h, H, &b[0], &b[1]);
    }
    for (int pw = 0; pw < PW; ++pw) {
      int* b = &wbin[(size_t(r) * PW + pw) * 2];
      roi_bin(pw, PW, win.start_w, win.size_w, W, &b[0], &b[1]);
    }
  }
  // (N, H, W, kRoiBlock): channels [c0, c0 + kRoiBlock) of every cell; in the last block
  // the lanes past C keep whatever they held and are never written out
  std::vector<float> block(size_t(N) * HW * kRoiBlock, 0.f);
  for (int c0 = 0; c0 < C; c0 += kRoiBlock) {
    const int cb = std::min(kRoiBlock, C - c0);
    for (int n = 0; n < N; ++n)
      for (int k = 0; k < cb; ++k) {
        const float* plane = features + (int64_t(n) * C + c0 + k) * HW;
        float* dst = block.data() + int64_t(n) * HW * kRoiBlock + k;
        for (int64_t i = 0; i < HW; ++i) dst[i * kRoiBlock] = plane[i];
      }
    for (int r = 0; r < R; ++r) {
      const int n = batch[r];
      const float* img = block.data() + int64_t(n < 0 ? 0 : n) * HW * kRoiBlock;
      for (int ph = 0; ph < PH; ++ph) {
        const int h0 = hbin[(size_t(r) * PH + ph) * 2], h1 = hbin[(size_t(r) * PH + ph) * 2 + 1];
        for (int pw = 0; pw < PW; ++pw) {
          const int w0 = wbin[(size_t(r) * PW + pw) * 2], w1 = wbin[(size_t(r) * PW + pw) * 2 + 1];
          const bool empty = n < 0 || h1 <= h0 || w1 <= w0;
          float best[kRoiBlock];
          int32_t arg[kRoiBlock];
          for (int k = 0; k < kRoiBlock; ++k) {
            best[k] = empty ? 0.f : -FLT_MAX;
            arg[k] = -1;
          }
          if (!empty)
            for (int h = h0; h < h1; ++h)
              for (int w = w0; w < w1; ++w) {
                const float* v = img + (int64_t(h) * W + w) * kRoiBlock;
                const int32_t idx = h * W + w;
                // isgreater: > as a quiet compare (false for NaN, as >), which GCC
                // vectorises under its default -ftrapping-math where > stays scalar.
                // Not unrolled: unrolled, GCC's cost model leaves the 16 selects scalar.
#pragma GCC unroll 1
                for (int k = 0; k < kRoiBlock; ++k) {
                  const bool gt = std::isgreater(v[k], best[k]);
                  best[k] = gt ? v[k] : best[k];
                  arg[k] = gt ? idx : arg[k];
                }
              }
          for (int k = 0; k < cb; ++k) {
            const int64_t o = ((int64_t(r) * C + c0 + k) * PH + ph) * PW + pw;
            out[o] = best[k];
            argmax[o] = arg[k];
          }
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
