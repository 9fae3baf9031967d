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
// The forward ops' checks ("<op>: x" ... errors) and geometry.
Conv2dGeom forward_geom(const Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, int64_t pad,
                        int64_t stride, const std::string& op) {
  x.check_dtype(DType::F32, op + ": x");
  w.check_dtype(DType::F32, op + ": weight");
  Conv2dGeom g = conv2d_geom(x.shape(), w.shape(), pad, stride);
  if (b.defined()) {
    b.check_dtype(DType::F32, op + ": bias");
    b.check_shape({g.Cout}, op + ": bias");
  }
  kernels_detail::check_device(ctx, {&x, &w, &b}, op.c_str());
  return g;
}
}  // namespace

Tensor conv2d_forward(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, int64_t pad, int64_t stride,
                      bool relu) {
  const Conv2dGeom g = forward_geom(ctx, x, w, b, pad, stride, "conv2d_forward");
  Tensor y = Tensor::empty({g.N, g.Cout, g.Ho, g.Wo}, DType::F32, x.device(), ctx.stream());
  if (g.N == 0) return y;
  const float* bp = b.defined() ? b.data<float>() : nullptr;
  if (x.is_cuda()) {
#if FRCNN_WITH_CUDA
    conv2d_forward_cuda(ctx.math_mode(), g, x.data<float>(), w.data<float>(), bp, relu, y.data<float>(), ctx.stream());
#endif
  } else {
    // oneDNN (conv2d_onednn.h), as the backward passes; conv2d_*_cpu is the reference it is tested against.
    conv2d_forward_onednn(ctx, g, cpu_operand(ctx, x).data<float>(), cpu_operand(ctx, w).data<float>(), bp,
                          y.data<float>());
    if (relu) relu_forward(ctx, y, /*inplace=*/true);
  }
  return y;
}

Tensor conv2d_relu_maxpool_forward(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, int64_t pad,
                                   int64_t stride, int64_t pool) {
  if (pool < 1) throw std::invalid_argument("conv2d_relu_maxpool_forward: pool must be >= 1");
  if (pool == 1 || !x.is_cuda()) {
    Tensor y = conv2d_forward(ctx, x, w, b, pad, stride, /*relu=*/true);
    return pool == 1 ? y : maxpool2d_forward(ctx, y, int(pool), int(pool)).y;
  }
  const Conv2dGeom g = forward_geom(ctx, x, w, b, pad, stride, "conv2d_relu_maxpool_forward");
  Tensor y = Tensor::empty({g.N, g.Cout, maxpool2d_out_size(g.Ho, pool, pool), maxpool2d_out_size(g.Wo, pool, pool)},
                           DType::F32, x.device(), ctx.stream());
  if (g.N == 0) return y;
#if FRCNN_WITH_CUDA
  conv2d_forward_cuda(ctx.math_mode(), g, x.data<float>(), w.data<float>(), b.defined() ? b.data<float>() : nullptr,
                      /*relu=*/true, y.data<float>(), ctx.stream(), int(pool));
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
