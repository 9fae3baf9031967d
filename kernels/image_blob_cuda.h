// Host-side launcher of image_blob_cuda.cu, on the stream it is given. Internal: included
// by image_blob.cpp (the dispatcher) and image_blob_cuda.cu only.
#pragma once
#include "engine/stream.h"

namespace frcnn {

void pad_image_into_cuda(const float* image, int C, int h, int w, float* slot, int H, int W, Stream s);

}  // namespace frcnn
