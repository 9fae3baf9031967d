// 2-D convolution, NCHW F32 (the forward's activations also BF16), square or rectangular
// kernel, zero padding, stride; the kernel sizes the engine uses are 3x3 (pad 1) and 1x1
// (pad 0), stride 1, but any kernel / pad / stride with a non-empty output works on both
// devices.
//   x: (N, Cin, H, W)   w: (Cout, Cin, KH, KW) (torch layout)   b: (Cout) or undefined
//   y: (N, Cout, Ho, Wo), Ho = (H + 2 pad - KH) / stride + 1 (floor), same for Wo
//
// Precision: the context's math mode (engine/math_mode.h). fp32: as below. tf32 / bf16:
// every product is of operands rounded to the format, summed in FP32: on CUDA our
// tensor-core kernels (conv2d_mma_cuda.cu, docs/LAYERS.md), on the CPU the same roundings
// (kernels/precision.h) then the FP32 path. The bias and its gradient are FP32 always.
// CPU: the three passes run on oneDNN (conv2d_onednn.h), the bias gradient on our FP32 sum;
//   the reference passes conv2d_*_cpu that oneDNN is tested against are im2col / col2im as
//   plain loop nests + OpenBLAS cblas_sgemm.
// CUDA fp32 ("own" kernels, no cuBLAS/cuDNN inside): one implicit-GEMM kernel template,
//   128x128 output tile per 256-thread block, BK = 8 reduction slice staged in shared
//   memory (double-buffered through registers), 8x8 register micro-tile per thread,
//   the im2col gather done on the fly while loading the B tile.
//     forward        C[co][pix]      = sum_k W[co][k]         * Xcol[k][pix]
//     backward-data  C[ci][pix_in]   = sum_(co,r,s) W[co][ci][r][s] * dYcol[(co,r,s)][pix_in]
//     backward-weight C[co][(ci,r,s)] = sum_pix dY[co][pix] * Xcol[(ci,r,s)][pix]
//   backward-weight splits the long pixel reduction over blocks (split-K) into a
//   workspace and sums the splits in a fixed order: every kernel here is
//   deterministic (no atomic adds; the fused max-pool's atomicMax is order-free).
// Gradient rule: backward_weight ACCUMULATES into gw / gb (+=); backward_data returns a
// fresh dL/dx.
#pragma once
#include <cstdint>

#include "engine/context.h"
#include "engine/tensor.h"

namespace frcnn {

struct Conv2dGeom {
  int64_t N = 0, Cin = 0, H = 0, W = 0;
  int64_t Cout = 0, KH = 0, KW = 0;
  int64_t pad = 0, stride = 1;
  int64_t Ho = 0, Wo = 0;
  double flops() const { return 2.0 * double(N) * Cout * Ho * Wo * Cin * KH * KW; }  // one pass (fwd, bwd-d or bwd-w)
};

// Validates shapes ("conv2d: ..." errors) and derives Ho, Wo.
Conv2dGeom conv2d_geom(const Shape& x_shape, const Shape& w_shape, int64_t pad, int64_t stride);

// y = conv(x, w) + b, or max(conv(x, w) + b, 0) with relu (the fused epilogue).
// Activations in F32 or BF16: x may be BF16 (read as its exact F32 values), and `out` is
// y's type (BF16: each output rounded to nearest even once, after bias and ReLU; on CUDA
// the epilogue writes it, so the F32 map never exists). In tf32 / bf16 the results are the
// F32 path's on the same values, rounded where asked: the operands are rounded anyway.
Tensor conv2d_forward(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, int64_t pad, int64_t stride,
                      bool relu = false, DType out = DType::F32);
// Inference: maxpool2d_forward(relu(conv(x, w) + b), pool, pool).y, i.e. (N, Cout,
// ceil(Ho / pool), ceil(Wo / pool)) with non-overlapping windows (VGG16: 2), bit for bit
// (+0 and -0 aside). On CUDA the pool runs in the convolution's epilogue (an atomicMax per
// output on its window: the (N, Cout, Ho, Wo) map is never written, and the maximum does
// not depend on the order); the CPU composes the two ops. No argmax: not for training.
// x and `out` as conv2d_forward's (a BF16 output is the rounded pooled map: rounding is
// monotonic, so the maximum of the rounded values is the rounded maximum).
Tensor conv2d_relu_maxpool_forward(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, int64_t pad,
                                   int64_t stride, int64_t pool, DType out = DType::F32);
// dL/dx (x_shape) from gy (N, Cout, Ho, Wo)
Tensor conv2d_backward_data(Context& ctx, const Tensor& gy, const Tensor& w, const Shape& x_shape, int64_t pad,
                            int64_t stride);
// gw += dL/dw; gb += dL/db when gb is defined.
void conv2d_backward_weight(Context& ctx, const Tensor& x, const Tensor& gy, Tensor& gw, Tensor& gb, int64_t pad,
                            int64_t stride);

// Raw launchers (pointers on the launcher's device). b / gb may be null. The _cpu ones are
// the im2col + OpenBLAS reference path.
void conv2d_forward_cpu(const Conv2dGeom& g, const float* x, const float* w, const float* b, float* y);
void conv2d_backward_data_cpu(const Conv2dGeom& g, const float* gy, const float* w, float* gx);
void conv2d_backward_weight_cpu(const Conv2dGeom& g, const float* x, const float* gy, float* gw, float* gb);
// gb (Cout) += sum over (n, pixel) of gy; part of conv2d_backward_weight_cpu.
void conv2d_backward_weight_bias_cpu(const Conv2dGeom& g, const float* gy, float* gb);

// im2col of one image: x (Cin, H, W) -> col (Cin*KH*KW, Ho*Wo); col2im accumulates back.
void conv2d_im2col_cpu(const Conv2dGeom& g, const float* x, float* col);
void conv2d_col2im_cpu(const Conv2dGeom& g, const float* col, float* x);

}  // namespace frcnn
