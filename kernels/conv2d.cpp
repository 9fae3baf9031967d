// Dispatcher and shape checks for conv2d.h.
#include "kernels/conv2d.h"

#include <limits>
#include <stdexcept>
#include <string>

#include "kernels/conv2d_onednn.h"
#include "kernels/dispatch.h"
#include "kernels/maxpool2d.h"
#include "kernels/precision.h"
#include "kernels/relu.h"

#if FRCNN_WITH_CUDA
#include "kernels/conv2d_cuda.h"
#endif

namespace frcnn {

Conv2dGeom conv2d_geom(const Shape& xs, const Shape& ws, int64_t pad, int64_t stride) {
  if (xs.size() != 4) throw std::invalid_argument("conv2d: x must be (N, Cin, H, W), got " + shape_str(xs));
  if (ws.size() != 4) throw std::invalid_argument("conv2d: weight must be (Cout, Cin, KH, KW), got " + shape_str(ws));
  if (pad < 0 || stride < 1) throw std::invalid_argument("conv2d: pad must be >= 0 and stride >= 1");
  Conv2dGeom g;
  g.N = xs[0], g.Cin = xs[1], g.H = xs[2], g.W = xs[3];
  g.Cout = ws[0], g.KH = ws[2], g.KW = ws[3];
  g.pad = pad, g.stride = stride;
  if (ws[1] != g.Cin)
    throw std::invalid_argument("conv2d: weight " + shape_str(ws) + " expects " + std::to_string(ws[1]) +
                                " input channels, x " + shape_str(xs) + " has " + std::to_string(g.Cin));
  if (g.Cout < 1 || g.Cin < 1 || g.KH < 1 || g.KW < 1)
    throw std::invalid_argument("conv2d: empty weight " + shape_str(ws));
  if (g.H + 2 * pad < g.KH || g.W + 2 * pad < g.KW)
    throw std::invalid_argument("conv2d: input " + shape_str(xs) + " (pad " + std::to_string(pad) +
                                ") is smaller than the kernel " + shape_str(ws));
  g.Ho = (g.H + 2 * pad - g.KH) / stride + 1;
  g.Wo = (g.W + 2 * pad - g.KW) / stride + 1;
  // The kernels index with 32-bit ints inside one GEMM dimension.
  const int64_t lim = std::numeric_limits<int32_t>::max();
  if (g.N * g.Ho * g.Wo > lim || g.N * g.H * g.W > lim || g.Cin * g.KH * g.KW > lim)
    throw std::invalid_argument("conv2d: problem too large for 32-bit GEMM indices: x " + shape_str(xs));
  return g;
}

namespace {
// The activations' types the forward ops take (x) and write (y).
void check_activation_dtype(DType t, const std::string& what) {
  if (t != DType::F32 && t != DType::BF16)
    throw std::invalid_argument(what + " is " + dtype_name(t) + "; conv2d activations are F32 or BF16");
}

// The forward ops' checks ("<op>: x" ... errors) and geometry.
Conv2dGeom forward_geom(const Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, int64_t pad,
                        int64_t stride, DType out, const std::string& op) {
  check_activation_dtype(x.dtype(), op + ": x");
  check_activation_dtype(out, op + ": the output type");
  w.check_dtype(DType::F32, op + ": weight");
  Conv2dGeom g = conv2d_geom(x.shape(), w.shape(), pad, stride);
  if (b.defined()) {
    b.check_dtype(DType::F32, op + ": bias");
    b.check_shape({g.Cout}, op + ": bias");
  }
  kernels_detail::check_device(ctx, {&x, &w, &b}, op.c_str());
  return g;
}

// x as F32 (a BF16 x widened: exact), for the CPU path.
Tensor as_f32(Context& ctx, const Tensor& x) { return x.dtype() == DType::F32 ? x : bf16_to_f32(ctx, x); }

// y (F32) in the output type: itself, or rounded to BF16 (nearest even, as the CUDA epilogue).
Tensor in_dtype(Context& ctx, const Tensor& y, DType out) { return out == DType::F32 ? y : to_bf16(ctx, y); }

#if FRCNN_WITH_CUDA
ConvFwdIo fwd_io(const Tensor& x, Tensor& y) {
  ConvFwdIo io;
  if (x.dtype() == DType::BF16) io.x16 = static_cast<const uint16_t*>(x.raw_data());
  else io.x = x.data<float>();
  if (y.dtype() == DType::BF16) io.y16 = static_cast<uint16_t*>(y.raw_data());
  else io.y = y.data<float>();
  return io;
}
#endif
}  // namespace

Tensor conv2d_forward(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, int64_t pad, int64_t stride,
                      bool relu, DType out) {
  const Conv2dGeom g = forward_geom(ctx, x, w, b, pad, stride, out, "conv2d_forward");
  const float* bp = b.defined() ? b.data<float>() : nullptr;
  if (x.is_cuda()) {
    Tensor y = Tensor::empty({g.N, g.Cout, g.Ho, g.Wo}, out, x.device(), ctx.stream());
    if (g.N == 0) return y;
#if FRCNN_WITH_CUDA
    conv2d_forward_cuda(ctx.math_mode(), g, fwd_io(x, y), w.data<float>(), bp, relu, ctx.stream());
#endif
    return y;
  }
  // oneDNN (conv2d_onednn.h), as the backward passes; conv2d_*_cpu is the reference it is tested against.
  Tensor y = Tensor::empty({g.N, g.Cout, g.Ho, g.Wo}, DType::F32, x.device(), ctx.stream());
  if (g.N == 0) return in_dtype(ctx, y, out);
  conv2d_forward_onednn(ctx, g, cpu_operand(ctx, as_f32(ctx, x)).data<float>(), cpu_operand(ctx, w).data<float>(), bp,
                        y.data<float>());
  if (relu) relu_forward(ctx, y, /*inplace=*/true);
  return in_dtype(ctx, y, out);
}

Tensor conv2d_relu_maxpool_forward(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, int64_t pad,
                                   int64_t stride, int64_t pool, DType out) {
  if (pool < 1) throw std::invalid_argument("conv2d_relu_maxpool_forward: pool must be >= 1");
  check_activation_dtype(out, "conv2d_relu_maxpool_forward: the output type");
  if (pool == 1) return conv2d_forward(ctx, x, w, b, pad, stride, /*relu=*/true, out);
  if (!x.is_cuda()) {
    // The CPU composes the ops in F32 and rounds the pooled map (max commutes with rounding).
    Tensor y = conv2d_forward(ctx, x, w, b, pad, stride, /*relu=*/true);
    return in_dtype(ctx, maxpool2d_forward(ctx, y, int(pool), int(pool)).y, out);
  }
  const Conv2dGeom g = forward_geom(ctx, x, w, b, pad, stride, out, "conv2d_relu_maxpool_forward");
  Tensor y = Tensor::empty({g.N, g.Cout, maxpool2d_out_size(g.Ho, pool, pool), maxpool2d_out_size(g.Wo, pool, pool)},
                           out, x.device(), ctx.stream());
  if (g.N == 0) return y;
#if FRCNN_WITH_CUDA
  conv2d_forward_cuda(ctx.math_mode(), g, fwd_io(x, y), w.data<float>(), b.defined() ? b.data<float>() : nullptr,
                      /*relu=*/true, ctx.stream(), int(pool));
#endif
  return y;
}

Tensor conv2d_backward_data(Context& ctx, const Tensor& gy, const Tensor& w, const Shape& x_shape, int64_t pad,
                            int64_t stride) {
  gy.check_dtype(DType::F32, "conv2d_backward_data: grad_out");
  w.check_dtype(DType::F32, "conv2d_backward_data: weight");
  Conv2dGeom g = conv2d_geom(x_shape, w.shape(), pad, stride);
  gy.check_shape({g.N, g.Cout, g.Ho, g.Wo}, "conv2d_backward_data: grad_out");
  kernels_detail::check_device(ctx, {&gy, &w}, "conv2d_backward_data");
  Tensor gx = Tensor::empty(x_shape, DType::F32, gy.device(), ctx.stream());
  if (g.N == 0) return gx;
  if (gy.is_cuda()) {
#if FRCNN_WITH_CUDA
    conv2d_backward_data_cuda(ctx.math_mode(), g, gy.data<float>(), w.data<float>(), gx.data<float>(), ctx.stream());
#endif
  } else {
    conv2d_backward_data_onednn(ctx, g, cpu_operand(ctx, gy).data<float>(), cpu_operand(ctx, w).data<float>(),
                                gx.data<float>());
  }
  return gx;
}

void conv2d_backward_weight(Context& ctx, const Tensor& x, const Tensor& gy, Tensor& gw, Tensor& gb, int64_t pad,
                            int64_t stride) {
  x.check_dtype(DType::F32, "conv2d_backward_weight: x");
  gy.check_dtype(DType::F32, "conv2d_backward_weight: grad_out");
  gw.check_dtype(DType::F32, "conv2d_backward_weight: grad_weight");
  Conv2dGeom g = conv2d_geom(x.shape(), gw.shape(), pad, stride);
  gy.check_shape({g.N, g.Cout, g.Ho, g.Wo}, "conv2d_backward_weight: grad_out");
  if (gb.defined()) {
    gb.check_dtype(DType::F32, "conv2d_backward_weight: grad_bias");
    gb.check_shape({g.Cout}, "conv2d_backward_weight: grad_bias");
  }
  kernels_detail::check_device(ctx, {&x, &gy, &gw, &gb}, "conv2d_backward_weight");
  if (g.N == 0) return;
  float* gbp = gb.defined() ? gb.data<float>() : nullptr;
  if (x.is_cuda()) {
#if FRCNN_WITH_CUDA
    conv2d_backward_weight_cuda(ctx.math_mode(), g, x.data<float>(), gy.data<float>(), gw.data<float>(), gbp,
                                ctx.stream());
#endif
  } else {  // the weight gradient from the precision's operands, the bias gradient from the FP32 gy
    conv2d_backward_weight_onednn(ctx, g, cpu_operand(ctx, x).data<float>(), cpu_operand(ctx, gy).data<float>(),
                                  gw.data<float>());
    if (gbp) conv2d_backward_weight_bias_cpu(g, gy.data<float>(), gbp);
  }
}

}  // namespace frcnn
