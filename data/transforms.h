// Image transforms for detection: the paper's resize rule, bilinear resampling,
// horizontal flip of images and boxes, and conversion to the network's input tensor.
//
// Resize rule (py-faster-rcnn's prep_im_for_blob): scale = target / shorter side; if the
// longer side would then exceed max_size (after rounding), scale = max_size / longer side.
// The output size is round(side * scale) and boxes are multiplied by `scale` (one factor
// for x and y, as the paper's code does; the rounding makes the true per-axis factor
// differ by under half a pixel over the whole image). E.g. 600/1000: 500x375 -> 1.6 ->
// 800x600; 1000x300 -> 1.0 (capped by the longer side) -> 1000x300.
//
// Bilinear resampling uses half-pixel centres (as OpenCV's INTER_LINEAR, PIL and
// torchvision): output pixel x samples the input at (x + 0.5) * in_w / out_w - 0.5,
// clamped to the image. The resize and the normalisation are fused (no rounding to
// 8 bits in between).
//
// Flip (continuous box convention, docs/DATA.md, box conventions): x1' = W - x2, x2' = W - x1.
#pragma once
#include <cstdint>

#include "data/image.h"
#include "data/input_convention.h"
#include "engine/tensor.h"

namespace frcnn {

struct ResizeTarget {
  int width = 0, height = 0;  // output size
  float scale = 1.f;          // factor applied to boxes
};
// Throws std::invalid_argument for non-positive sizes, target or max_size.
ResizeTarget detection_resize(int width, int height, int target_size, int max_size);

// New image mirrored left-right.
Image flip_horizontal(const Image& img);
// boxes: (G, 4) rows (x1, y1, x2, y2), flipped in place for an image of width `width`.
void flip_boxes_horizontal(float* boxes, int64_t count, float width);

// 8-bit bilinear resize (for drawing and tests; the network path uses the fused one).
Image resize_bilinear(const Image& img, int out_width, int out_height);

// Resizes `img` to out_width x out_height and writes the normalised planes into dst:
// (3, out_height, out_width) F32, plane k = channel conv.rgb_channel(k).
void resize_normalize_chw(const Image& img, int out_width, int out_height, const InputConvention& conv, float* dst);

// Image -> (1, 3, H, W) F32 CPU tensor at the detection scale; `scale` returns the factor.
Tensor prepare_image(const Image& img, int target_size, int max_size, const InputConvention& conv, float* scale);

}  // namespace frcnn
