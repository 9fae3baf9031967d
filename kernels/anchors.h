// Anchors of the RPN (docs/KERNELS.md, Conventions): A = |ratios| * |sizes| base anchors centred on
// feature cell (0, 0), shifted by the stride over an H x W feature map.
//
// Base anchors follow py-faster-rcnn's generate_anchors() exactly (base_size = stride,
// scales = size / stride, with its rounding: ws = round(sqrt(stride^2 / ratio)),
// hs = round(ws * ratio), round half to even as numpy; then ws*scale, hs*scale), which
// is why the "128^2" anchors are 184x96, 128x128 and 88x176 rather than exact areas.
// Order: ratio-major, a = ratio_index * |sizes| + size_index (as py-faster-rcnn).
// py-faster-rcnn writes them as inclusive pixel boxes centred at (stride-1)/2 = 7.5;
// an inclusive pixel box [x1, x2] covers the continuous interval [x1, x2 + 1], so ours
// (no +1) are (x1, y1, x2 + 1, y2 + 1): centred at (stride/2, stride/2) = (8, 8), the
// centre of feature cell (0, 0). For stride 16, sizes (128, 256, 512), ratios
// (0.5, 1, 2) the table is (docs/KERNELS.md, tests/kernels/test_anchors.cpp):
//   a  py-faster-rcnn               ours
//   0  [ -84,  -40,  99,  55]  ->  [ -84,  -40, 100,  56]
//   1  [-176,  -88, 191, 103]  ->  [-176,  -88, 192, 104]
//   2  [-360, -184, 375, 199]  ->  [-360, -184, 376, 200]
//   3  [ -56,  -56,  71,  71]  ->  [ -56,  -56,  72,  72]
//   4  [-120, -120, 135, 135]  ->  [-120, -120, 136, 136]
//   5  [-248, -248, 263, 263]  ->  [-248, -248, 264, 264]
//   6  [ -36,  -80,  51,  95]  ->  [ -36,  -80,  52,  96]
//   7  [ -80, -168,  95, 183]  ->  [ -80, -168,  96, 184]
//   8  [-168, -344, 183, 359]  ->  [-168, -344, 184, 360]
//
// Layout of make_anchors(): (H*W*A, 4), flat index k = (h*W + w)*A + a, anchor k =
// base[a] + (w*stride, h*stride, w*stride, h*stride). This is the (H, W, A) order of
// the RPN head's outputs after moving channels last: scores (A, H, W) -> (H, W, A),
// deltas (4A, H, W) = (A, 4, H, W) -> (H, W, A, 4). Deterministic, exact on both devices
// (integers times the stride, all exactly representable).
#pragma once
#include <vector>

#include "engine/host_device.h"
#include "engine/stream.h"
#include "engine/tensor.h"

namespace frcnn {

// (A, 4) CPU tensor, A = ratios.size() * sizes.size(). Throws for stride <= 0,
// empty or non-positive sizes/ratios.
Tensor base_anchors(int stride, const std::vector<float>& sizes, const std::vector<float>& ratios);

// (feat_h * feat_w * A, 4) F32 on `device` (queued on `stream` for CUDA). feat_h or
// feat_w = 0 gives (0, 4).
Tensor make_anchors(int feat_h, int feat_w, int stride, const std::vector<float>& sizes,
                    const std::vector<float>& ratios, Device device, Stream stream = {});

// Anchor k of the layout above, coordinate j (shared by both devices).
FRCNN_HD float shifted_anchor(const float* base, int k, int j, int feat_w, int num_anchors, int stride) {
  const int a = k % num_anchors, cell = k / num_anchors;
  const int w = cell % feat_w, h = cell / feat_w;
  return base[4 * a + j] + static_cast<float>((j % 2 == 0 ? w : h) * stride);
}

}  // namespace frcnn
