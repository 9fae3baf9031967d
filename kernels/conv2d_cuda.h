// Host-side launchers of conv2d_cuda.cu, on the stream they are given. Internal: included
// by conv2d.cpp (the dispatcher) and the .cu files only; compiled with the CUDA backend.
// `math` picks the kernel: fp32 -> the FP32 SIMT implicit GEMM (conv2d_cuda.cu), tf32 /
// bf16 -> the tensor-core implicit GEMM (conv2d_mma_cuda.cu). The bias gradient is an FP32
// reduction in every mode.
#pragma once
#include "engine/math_mode.h"
#include "kernels/conv2d.h"

namespace frcnn {

// pool > 1 (relu must be set): y is (N, Cout, ceil(Ho / pool), ceil(Wo / pool)), the
// max-pool (kernel = stride = pool) of the ReLU'd convolution, fused into the epilogue.
void conv2d_forward_cuda(MathMode math, const Conv2dGeom& g, const float* x, const float* w, const float* b, bool relu,
                         float* y, Stream s, int pool = 0);
void conv2d_backward_data_cuda(MathMode math, const Conv2dGeom& g, const float* gy, const float* w, float* gx,
                               Stream s);
void conv2d_backward_weight_cuda(MathMode math, const Conv2dGeom& g, const float* x, const float* gy, float* gw,
                                 float* gb, Stream s);

}  // namespace frcnn
