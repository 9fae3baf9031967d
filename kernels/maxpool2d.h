// 2-D max pooling, NCHW F32, no padding, kernel k and stride s (VGG16: k = s = 2), with
// Caffe's CEIL rounding so odd sizes keep their last row/column:
//   Ho = ceil((H - k) / s) + 1   (for H < k: 1; the window is clipped to the map)
// which equals torch.nn.functional.max_pool2d(..., ceil_mode=True) without padding.
// forward saves argmax (N, C, Ho, Wo) I32: the flat index h * W + w of the maximum
// inside its (n, c) plane; ties keep the first in row-major window order (as torch).
// backward gathers: each input cell sums grad_out over the windows whose argmax is it,
// with no atomics, so it is deterministic on both devices.
#pragma once
#include <cstdint>

#include "engine/context.h"
#include "engine/host_device.h"
#include "engine/tensor.h"

namespace frcnn {

// Output size with ceil rounding (in >= 1, k >= 1, s >= 1).
FRCNN_HD int64_t maxpool2d_out_size(int64_t in, int64_t k, int64_t s) {
  if (in <= k) return 1;
  return (in - k + s - 1) / s + 1;
}

// The output windows [lo, hi] along one axis that contain input index i.
FRCNN_HD void maxpool2d_windows_of(int64_t i, int64_t k, int64_t s, int64_t out, int64_t& lo, int64_t& hi) {
  lo = i < k ? 0 : (i - k) / s + 1;
  hi = i / s;
  if (hi > out - 1) hi = out - 1;
}

// dL/dx at input cell (h, w) of plane p: the sum of the output gradients whose switch
// points at it, added in ascending (oh, ow) order (a gather: deterministic on both
// devices). gy, argmax: (planes, Ho, Wo).
FRCNN_HD float maxpool2d_input_grad(const float* gy, const int32_t* argmax, int64_t p, int64_t h, int64_t w,
                                    int64_t W, int64_t Ho, int64_t Wo, int k, int s) {
  int64_t oh0, oh1, ow0, ow1;
  maxpool2d_windows_of(h, k, s, Ho, oh0, oh1);
  maxpool2d_windows_of(w, k, s, Wo, ow0, ow1);
  float g = 0.f;
  for (int64_t oh = oh0; oh <= oh1; ++oh)
    for (int64_t ow = ow0; ow <= ow1; ++ow) {
      const int64_t o = (p * Ho + oh) * Wo + ow;
      if (argmax[o] == h * W + w) g += gy[o];
    }
  return g;
}

struct MaxPool2dResult {
  Tensor y;       // (N, C, Ho, Wo) F32
  Tensor argmax;  // (N, C, Ho, Wo) I32
};

// x F32, or BF16 (inference activations, kernels/conv2d.h): then y is BF16 too, the F32
// pool of the widened x rounded back, which is exact (the widened values are BF16 values
// and the maximum is one of them).
MaxPool2dResult maxpool2d_forward(Context& ctx, const Tensor& x, int k = 2, int s = 2);
// grad_out, argmax: (N, C, Ho, Wo); returns grad_in of shape x_shape (N, C, H, W).
Tensor maxpool2d_backward(Context& ctx, const Tensor& grad_out, const Tensor& argmax, const Shape& x_shape, int k = 2,
                          int s = 2);

// Raw launchers; planes = N * C.
void maxpool2d_forward_cpu(const float* x, float* y, int32_t* argmax, int64_t planes, int64_t H, int64_t W, int64_t Ho,
                           int64_t Wo, int k, int s);
void maxpool2d_backward_cpu(const float* gy, const int32_t* argmax, float* gx, int64_t planes, int64_t H, int64_t W,
                            int64_t Ho, int64_t Wo, int k, int s);

}  // namespace frcnn
