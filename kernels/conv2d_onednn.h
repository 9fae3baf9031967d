// The CPU convolution on oneDNN (Debian's libdnnl): what conv2d_forward, conv2d_backward_data
// and conv2d_backward_weight run on a CPU context. The im2col + OpenBLAS loop nests in
// conv2d_cpu.cpp stay the reference (conv2d_*_cpu), which tests/kernels/test_conv2d_onednn.cpp
// checks these against. The bias gradient is not here: it stays our own FP32 sum
// (conv2d_backward_weight_bias_cpu), as on every path.
//   x: (N, Cin, H, W)   w: (Cout, Cin, KH, KW)   b: (Cout) or null   y: (N, Cout, Ho, Wo)
// One image per primitive call in every pass (oneDNN's blocking can depend on N; an image's
// bits must not depend on its batch), plain NCHW / OIHW memory in and out (no reorders;
// oneDNN picks a JIT GEMM or brgemm implementation for those layouts and the machine's vector
// ISA), the bias added inside the forward primitive, FP32 strict (no implicit bf16 / tf32
// down-conversion).
// Threads: oneDNN's OpenMP pool (OMP_NUM_THREADS, default all cores).
// Deterministic: the same inputs give the same bits on the same machine and thread count.
// The primitives are kept per context (Context::cache), one set per geometry; a context is
// not thread-safe, so neither is this.
#pragma once
#include <string>

#include "engine/context.h"
#include "kernels/conv2d.h"

namespace frcnn {

void conv2d_forward_onednn(Context& ctx, const Conv2dGeom& g, const float* x, const float* w, const float* b,
                           float* y);
// gy: (N, Cout, Ho, Wo), w -> gx: (N, Cin, H, W), overwritten.
void conv2d_backward_data_onednn(Context& ctx, const Conv2dGeom& g, const float* gy, const float* w, float* gx);
// x, gy -> gw: (Cout, Cin, KH, KW) += the sum over the images of each image's gradient.
void conv2d_backward_weight_onednn(Context& ctx, const Conv2dGeom& g, const float* x, const float* gy, float* gw);

// "oneDNN <major>.<minor>.<patch>" (the library this process runs), for reports.
std::string onednn_description();

}  // namespace frcnn
