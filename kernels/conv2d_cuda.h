// Host-side launchers of conv2d_cuda.cu, on the stream they are given. Internal: included
// by conv2d.cpp (the dispatcher) and the .cu files only; compiled with the CUDA backend.
// `math` picks the kernel: fp32 -> the FP32 SIMT implicit GEMM (conv2d_cuda.cu), tf32 /
// bf16 -> the tensor-core implicit GEMM (conv2d_mma_cuda.cu). The bias gradient is an FP32
// reduction in every mode.
#pragma once
#include <cstdint>

#include "engine/math_mode.h"
#include "kernels/conv2d.h"

namespace frcnn {

// The forward's activations: each F32 or BF16 bits, exactly one of the two pointers set.
struct ConvFwdIo {
  const float* x = nullptr;
  const uint16_t* x16 = nullptr;  // (N, Cin, H, W)
  float* y = nullptr;
  uint16_t* y16 = nullptr;        // (N, Cout, Ho, Wo), or pooled
};

// pool > 1 (relu must be set): y is (N, Cout, ceil(Ho / pool), ceil(Wo / pool)), the
// max-pool (kernel = stride = pool) of the ReLU'd convolution, fused into the epilogue.
void conv2d_forward_cuda(MathMode math, const Conv2dGeom& g, const ConvFwdIo& io, const float* w, const float* b,
                         bool relu, Stream s, int pool = 0);
void conv2d_backward_data_cuda(MathMode math, const Conv2dGeom& g, const float* gy, const float* w, float* gx,
                               Stream s);
void conv2d_backward_weight_cuda(MathMode math, const Conv2dGeom& g, const float* x, const float* gy, float* gw,
                                 float* gb, Stream s);

}  // namespace frcnn
