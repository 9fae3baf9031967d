#include "layers/conv2d_layer.h"

#include <stdexcept>

#include "kernels/conv2d.h"
#include "kernels/maxpool2d.h"
#include "kernels/precision.h"
#include "kernels/relu.h"
#include "layers/param_lowp.h"

namespace frcnn {

ConvBackend parse_conv_backend(const std::string& s) {
  if (s == "own") return ConvBackend::Own;
  if (s == "cudnn") return ConvBackend::Cudnn;
  throw std::invalid_argument("conv_backend: '" + s + "' is not one of own, cudnn");
}

const char* conv_backend_name(ConvBackend b) { return b == ConvBackend::Own ? "own" : "cudnn"; }

Conv2d::Conv2d(std::string name, const Conv2dOptions& opt) : Layer(std::move(name)), opt_(opt) {
  if (opt.in < 1 || opt.out < 1 || opt.kernel < 1 || opt.pad < 0 || opt.stride < 1)
    throw std::invalid_argument(name_ + ": Conv2d needs in, out, kernel, stride >= 1 and pad >= 0");
  weight_.name = name_ + ".weight";
  weight_.value = Tensor::zeros({opt.out, opt.in, opt.kernel, opt.kernel});
  if (opt.bias) {
    bias_.name = name_ + ".bias";
    bias_.value = Tensor::zeros({opt.out});
    bias_.lr_mult = 2.f;
    bias_.decay_mult = 0.f;
  }
}

std::vector<Param*> Conv2d::params() {
  if (opt_.bias) return {&weight_, &bias_};
  return {&weight_};
}

void Conv2d::to(Context& ctx) {
  Layer::to(ctx);
  x_ = Tensor();
  y_ = Tensor();
}

DType inference_activation_dtype(const Context& ctx) {
  return ctx.is_cuda() && ctx.math_mode() == MathMode::Bf16 ? DType::BF16 : DType::F32;
}

static bool use_cudnn(const Context& ctx, ConvBackend b) { return ctx.is_cuda() && b == ConvBackend::Cudnn; }

void Conv2d::check_input(const Tensor& x) const {
  if (x.ndim() == 4 && x.size(1) != opt_.in)
    throw std::invalid_argument(name_ + ": input " + shape_str(x.shape()) + " has " + std::to_string(x.size(1)) +
                                " channels, the layer expects " + std::to_string(opt_.in));
  if (training_ && x.dtype() != DType::F32)
    throw std::invalid_argument(name_ + ": a training-mode input must be F32 (backward reads it), got " +
                                dtype_name(x.dtype()));
}

Tensor Conv2d::forward(Context& ctx, const Tensor& x) { return forward_as(ctx, x, DType::F32); }

Tensor Conv2d::forward_as(Context& ctx, const Tensor& x, DType out) {
  check_input(x);
  if (training_ && out != DType::F32)
    throw std::logic_error(name_ + ": a " + dtype_name(out) + " output is for eval mode (backward reads F32)");
  Tensor b = opt_.bias ? bias_.value : Tensor();
  Tensor y;
  if (use_cudnn(ctx, opt_.backend)) {
#if FRCNN_WITH_CUDA
    y = conv2d_forward_cudnn(ctx, x, lowp_value(ctx, weight_), b, opt_.pad, opt_.stride);
    if (opt_.relu) relu_forward(ctx, y, /*inplace=*/true);
    if (out == DType::BF16) y = to_bf16(ctx, y);
#endif
  } else {
    y = conv2d_forward(ctx, x, weight_.value, b, opt_.pad, opt_.stride, opt_.relu, out);
  }
  x_ = training_ ? x : Tensor();
  y_ = training_ && opt_.relu ? y : Tensor();
  return y;
}

Tensor Conv2d::forward_pooled(Context& ctx, const Tensor& x, int pool, DType out) {
  if (training_) throw std::logic_error(name_ + ": forward_pooled is for eval mode (it keeps nothing for backward)");
  if (!opt_.relu) throw std::logic_error(name_ + ": forward_pooled needs the fused ReLU");
  if (use_cudnn(ctx, opt_.backend)) return maxpool2d_forward(ctx, forward_as(ctx, x, out), pool, pool).y;
  check_input(x);
  x_ = Tensor();
  y_ = Tensor();
  return conv2d_relu_maxpool_forward(ctx, x, weight_.value, opt_.bias ? bias_.value : Tensor(), opt_.pad, opt_.stride,
                                     pool, out);
}

Tensor Conv2d::backward(Context& ctx, const Tensor& grad_out) {
  require_saved(x_.defined() && (!opt_.relu || y_.defined()));
  const Tensor gy = opt_.relu ? relu_backward(ctx, y_, grad_out) : grad_out;
  const bool need_w = !weight_.frozen, need_b = opt_.bias && !bias_.frozen;
  Tensor gx;
  if (need_w || need_b) {
    if (need_w && !weight_.grad.defined()) zero_grad(ctx, {&weight_});
    if (need_b && !bias_.grad.defined()) zero_grad(ctx, {&bias_});
    Tensor gb = need_b ? bias_.grad : Tensor();
    if (need_w) {
      if (use_cudnn(ctx, opt_.backend)) {
#if FRCNN_WITH_CUDA
        conv2d_backward_weight_cudnn(ctx, x_, gy, weight_.grad, gb, opt_.pad, opt_.stride);
#endif
      } else {
        conv2d_backward_weight(ctx, x_, gy, weight_.grad, gb, opt_.pad, opt_.stride);
      }
    } else {
      // Frozen weight, trainable bias: bias grad only (sum of gy over N, H, W), on the
      // same kernels with a scratch weight grad that is thrown away.
      Tensor scratch = Tensor::zeros(weight_.value.shape(), DType::F32, ctx.device(), ctx.stream());
      conv2d_backward_weight(ctx, x_, gy, scratch, gb, opt_.pad, opt_.stride);
    }
  }
  if (propagate_down_) {
    if (use_cudnn(ctx, opt_.backend)) {
#if FRCNN_WITH_CUDA
      gx = conv2d_backward_data_cudnn(ctx, gy, lowp_value(ctx, weight_), x_.shape(), opt_.pad, opt_.stride);
#endif
    } else {
      gx = conv2d_backward_data(ctx, gy, weight_.value, x_.shape(), opt_.pad, opt_.stride);
    }
  }
  return gx;
}

}  // namespace frcnn
