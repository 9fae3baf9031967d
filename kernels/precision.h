// Operand formats of the tensor-core precisions (engine/math_mode.h), as element-wise ops:
//   round_to_precision  F32 -> F32, every element rounded as the tensor cores read it
//                       (tf32: cvt.rna, bf16: nearest even; fp32: a plain copy). The CPU
//                       path of a tf32 / bf16 convolution or Linear multiplies these.
//   to_bf16 / bf16_to_f32  F32 <-> BF16 storage (nearest even; BF16 -> F32 is exact): the
//                       operands cuBLAS and cuDNN are given in bf16.
// The rounding functions themselves are kernels/tensor_formats.h's, shared by both devices,
// so CPU and CUDA agree bit for bit.
#pragma once
#include <cstdint>

#include "engine/context.h"
#include "engine/math_mode.h"
#include "engine/tensor.h"

namespace frcnn {

Tensor round_to_precision(Context& ctx, const Tensor& x, MathMode m);
// A GEMM operand of the CPU path as the context's precision reads it: x itself in fp32 (no
// copy), else round_to_precision(ctx, x, ctx.math_mode()). Used by conv2d and Linear.
Tensor cpu_operand(Context& ctx, const Tensor& x);
Tensor to_bf16(Context& ctx, const Tensor& x);
Tensor bf16_to_f32(Context& ctx, const Tensor& x);
// The same into an existing y (same shape and device; y F32, resp. BF16): refreshing a
// cached operand in place keeps its address, which a captured CUDA graph has baked in.
void round_to_precision_into(Context& ctx, const Tensor& x, MathMode m, Tensor& y);
void to_bf16_into(Context& ctx, const Tensor& x, Tensor& y);

// Raw launchers: n elements.
void round_to_precision_cpu(const float* x, float* y, int64_t n, MathMode m);
void to_bf16_cpu(const float* x, uint16_t* y, int64_t n);
void bf16_to_f32_cpu(const uint16_t* x, float* y, int64_t n);

}  // namespace frcnn
