// Tensor-core convolution launchers (conv2d_mma_cuda.cu): the three passes of conv2d.h with
// TF32 or BF16 operands and FP32 accumulation. Internal: called by conv2d_cuda.cu's
// launchers when the math mode is tf32 or bf16; compiled with the CUDA backend.
#pragma once
#include "kernels/conv2d.h"
#include "kernels/conv2d_cuda.h"
#include "kernels/mma_tile.h"

namespace frcnn {

// pool > 1: y is the fused max-pool output, zeroed by the caller (conv2d_cuda.h).
void conv2d_forward_mma_cuda(MmaFormat f, const Conv2dGeom& g, const ConvFwdIo& io, const float* w, const float* b,
                             bool relu, Stream s, int pool = 0);
void conv2d_backward_data_mma_cuda(MmaFormat f, const Conv2dGeom& g, const float* gy, const float* w, float* gx,
                                   Stream s);
// gw += dL/dw (gb is conv2d_cuda.cu's FP32 bias reduction, not done here).
void conv2d_backward_weight_mma_cuda(MmaFormat f, const Conv2dGeom& g, const float* x, const float* gy, float* gw,
                                     Stream s);

}  // namespace frcnn
