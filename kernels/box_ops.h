// Box maths on tensors: pairwise IoU, delta encode/decode, clipping, min-size filter.
// Per-element maths: kernels/box_math.h (shared by box_ops_cpu.cpp and box_ops_cuda.cu).
//
// All ops: boxes are F32 (N, 4) = (x1, y1, x2, y2), continuous, no +1 (docs/KERNELS.md, Conventions). The
// device is that of the inputs (all inputs on one device, else std::invalid_argument);
// outputs are fresh tensors on that device, queued on ctx.stream(). N = 0 is allowed
// everywhere and gives empty outputs. All ops are deterministic; box_iou and
// min_size_keep are bit-identical on the CPU and CUDA, encode/decode agree to a few ulp
// (device expf/logf).
#pragma once
#include "engine/context.h"
#include "engine/tensor.h"
#include "kernels/box_math.h"

namespace frcnn {

// a: (N, 4), b: (M, 4) -> (N, M) F32 IoU. Empty boxes (zero area) have IoU 0 with
// everything, including themselves (the union is 0).
Tensor box_iou(Context& ctx, const Tensor& a, const Tensor& b);

// refs: (N, 4), gts: (N, 4) -> deltas (N, 4) = (dx, dy, dw, dh) normalised by `coder`.
// Zero-size boxes are encoded as if kEncodeMinSize wide/high (finite output).
Tensor encode_boxes(Context& ctx, const Tensor& refs, const Tensor& gts, const BoxCoder& coder = {});

// refs: (N, 4), deltas: (N, 4*C) -> boxes (N, 4*C): the C class-specific boxes of each
// reference (C = 1 for the RPN). dw, dh clamped at kBoxDeltaClamp = log(1000/16).
Tensor decode_boxes(Context& ctx, const Tensor& refs, const Tensor& deltas, const BoxCoder& coder = {});

// boxes: (N, 4*C) -> the same clipped to [0, img_w] x [0, img_h] (a fresh tensor).
Tensor clip_boxes(Context& ctx, const Tensor& boxes, float img_h, float img_w);

// boxes: (N, 4) -> I32 (P) ascending indices of the boxes with width >= min_size and
// height >= min_size. (py-faster-rcnn's _filter_boxes used x2 - x1 + 1 >= min_size in
// its +1 convention; ours has no +1.) On CUDA the count is read back (one sync).
Tensor min_size_keep(Context& ctx, const Tensor& boxes, float min_size);

}  // namespace frcnn
