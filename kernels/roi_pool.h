// RoI max-pooling (Fast R-CNN), forward with argmax switches and backward through them.
// Bin rules: roi_pool_math.h (Caffe / torchvision, including Caffe's +1 on the RoI size).
//
// forward:  features (N, C, H, W) F32, rois (R, 5) F32 = (batch_index, x1, y1, x2, y2)
//           in image coordinates (as torchvision) ->
//           output (R, C, ph, pw) F32, argmax (R, C, ph, pw) I32 = h*W + w, the flat index
//           of the maximum in the image's H x W plane; an empty bin gives output 0 and
//           argmax -1 (torchvision). Ties: the first maximum in row-major order (strict >),
//           NaN never wins. A RoI whose batch index is not an integer in [0, N) gives empty
//           bins (0, -1) on both devices rather than reading out of bounds.
// backward: grad_out (R, C, ph, pw), argmax, rois, N, C, H, W, spatial_scale (the same as
//           in forward) -> grad_features (N, C, H, W), a fresh tensor (the caller
//           accumulates it into its gradient).
//
// Determinism. Forward is deterministic. Backward is deterministic and bit-identical on
// the CPU and CUDA: each feature element's gradient is the sum of the grad_out entries
// whose switch points at it, added in ascending (roi, ph, pw) order, starting from 0.
// The CPU does it as the plain scatter loop (r, c, ph, pw ascending); CUDA uses a
// gather: one thread per feature element (n, c, h, w) walks the RoIs of its image in
// ascending order (their bin boundaries staged in shared memory, 32 RoIs at a time),
// skips RoIs whose window does not contain (h, w), and for the bins that do contain it
// (ascending ph, pw) adds grad_out where argmax == h*W + w. We chose the gather over
// "stable sort (index, grad) pairs + segmented sum" because it needs no extra memory and
// no sort of R*C*ph*pw pairs, and gives the CPU's summation order for free; its cost is
// O(N*C*H*W * R_n) cheap shared-memory tests (R_n RoIs per image) instead of
// O(R*C*ph*pw) atomics — see bench/bench_detection_kernels.cpp for the measured ratio.
#pragma once
#include "engine/context.h"
#include "engine/tensor.h"

namespace frcnn {

struct RoiPoolResult {
  Tensor output;  // (R, C, ph, pw) F32
  Tensor argmax;  // (R, C, ph, pw) I32
};

// features F32, or BF16 (inference activations in bf16, kernels/conv2d.h): widened first
// (exact), so the pooled output is F32 either way.
RoiPoolResult roi_pool_forward(Context& ctx, const Tensor& features, const Tensor& rois, int pooled_h, int pooled_w,
                               float spatial_scale);

Tensor roi_pool_backward(Context& ctx, const Tensor& grad_out, const Tensor& argmax, const Tensor& rois, int N, int C,
                         int H, int W, float spatial_scale);

}  // namespace frcnn
