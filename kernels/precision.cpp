// Dispatcher for precision.h: the device comes from the tensor.
#include "kernels/precision.h"

#include "kernels/dispatch.h"

#if FRCNN_WITH_CUDA
#include "kernels/precision_cuda.h"
#endif

namespace frcnn {

void round_to_precision_into(Context& ctx, const Tensor& x, MathMode m, Tensor& y) {
  x.check_dtype(DType::F32, "round_to_precision: x");
  y.check_dtype(DType::F32, "round_to_precision: y");
  y.check_shape(x.shape(), "round_to_precision: y");
  kernels_detail::check_device(ctx, {&x, &y}, "round_to_precision");
  if (x.numel() == 0) return;
  if (x.is_cuda()) {
#if FRCNN_WITH_CUDA
    round_to_precision_cuda(x.data<float>(), y.data<float>(), x.numel(), m, ctx.stream());
#endif
  } else {
    round_to_precision_cpu(x.data<float>(), y.data<float>(), x.numel(), m);
  }
}

Tensor round_to_precision(Context& ctx, const Tensor& x, MathMode m) {
  Tensor y = Tensor::empty(x.shape(), DType::F32, x.device(), ctx.stream());
  round_to_precision_into(ctx, x, m, y);
  return y;
}

Tensor cpu_operand(Context& ctx, const Tensor& x) {
  return ctx.math_mode() == MathMode::Fp32 ? x : round_to_precision(ctx, x, ctx.math_mode());
}

void to_bf16_into(Context& ctx, const Tensor& x, Tensor& y) {
  x.check_dtype(DType::F32, "to_bf16: x");
  y.check_dtype(DType::BF16, "to_bf16: y");
  y.check_shape(x.shape(), "to_bf16: y");
  kernels_detail::check_device(ctx, {&x, &y}, "to_bf16");
  if (x.numel() == 0) return;
  auto* yp = static_cast<uint16_t*>(y.raw_data());
  if (x.is_cuda()) {
#if FRCNN_WITH_CUDA
    to_bf16_cuda(x.data<float>(), yp, x.numel(), ctx.stream());
#endif
  } else {
    to_bf16_cpu(x.data<float>(), yp, x.numel());
  }
}

Tensor to_bf16(Context& ctx, const Tensor& x) {
  Tensor y = Tensor::empty(x.shape(), DType::BF16, x.device(), ctx.stream());
  to_bf16_into(ctx, x, y);
  return y;
}

Tensor bf16_to_f32(Context& ctx, const Tensor& x) {
  x.check_dtype(DType::BF16, "bf16_to_f32: x");
  kernels_detail::check_device(ctx, {&x}, "bf16_to_f32");
  Tensor y = Tensor::empty(x.shape(), DType::F32, x.device(), ctx.stream());
  if (x.numel() == 0) return y;
  const auto* xp = static_cast<const uint16_t*>(x.raw_data());
  if (x.is_cuda()) {
#if FRCNN_WITH_CUDA
    bf16_to_f32_cuda(xp, y.data<float>(), x.numel(), ctx.stream());
#endif
  } else {
    bf16_to_f32_cpu(xp, y.data<float>(), x.numel());
  }
  return y;
}

}  // namespace frcnn
