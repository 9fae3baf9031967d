// Host-side launchers of box_ops_cuda.cu, on the stream they are given. Internal: included
// by box_ops.cpp (the dispatcher) and box_ops_cuda.cu only; compiled with the CUDA backend.
#pragma once
#include "kernels/box_ops.h"

namespace frcnn {

void box_iou_cuda(const float* a, int64_t n, const float* b, int64_t m, float* out, Stream s);
void encode_boxes_cuda(const float* refs, const float* gts, int64_t n, const BoxCoder& c, float* out, Stream s);
void decode_boxes_cuda(const float* refs, const float* deltas, int64_t n, int64_t classes, const BoxCoder& c,
                       float* out, Stream s);
void clip_boxes_cuda(const float* in, int64_t nboxes, float img_h, float img_w, float* out, Stream s);
Tensor min_size_keep_cuda(const Tensor& boxes, float min_size, Stream s);

}  // namespace frcnn
