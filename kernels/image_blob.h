// The paper's image blob for a batch: B preprocessed images of possibly different sizes
// in one (B, C, H, W) tensor, each in the top-left corner of its slot, zeros elsewhere
// (py-faster-rcnn's im_list_to_blob; a zero is the mean pixel after normalisation).
//
// pad_image_into: image (1, C, h, w) -> blob[b] (C, H, W) with h <= H, w <= W: the image
//   at rows [0, h), columns [0, w), every other element of the slot set to 0. Other
//   slots are not touched. Both devices, a pure copy: bit-identical.
#pragma once
#include "engine/context.h"
#include "engine/tensor.h"

namespace frcnn {

void pad_image_into(Context& ctx, const Tensor& image, Tensor& blob, int64_t b);

}  // namespace frcnn
