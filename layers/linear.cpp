#include "layers/linear.h"

#include <cblas.h>

#include <stdexcept>

#include "kernels/precision.h"
#include "layers/param_lowp.h"

namespace frcnn {

namespace {
// An activation operand in the context's precision: on the CPU cpu_operand (rounded F32),
// on CUDA in bf16 a BF16 copy (tf32 is cuBLAS's math mode), else the tensor itself. The
// weight's is lowp_value(ctx, weight_): the same, made once per change of the weight.
Tensor operand(Context& ctx, const Tensor& t) {
  if (!ctx.is_cuda()) return cpu_operand(ctx, t);
  return ctx.math_mode() == MathMode::Bf16 ? to_bf16(ctx, t) : t;
}
}  // namespace

Linear::Linear(std::string name, int64_t in, int64_t out, bool bias)
    : Layer(std::move(name)), in_(in), out_(out), has_bias_(bias) {
  if (in < 1 || out < 1) throw std::invalid_argument(name_ + ": Linear needs in, out >= 1");
  weight_.name = name_ + ".weight";
  weight_.value = Tensor::zeros({out, in});
  if (has_bias_) {
    bias_.name = name_ + ".bias";
    bias_.value = Tensor::zeros({out});
    bias_.lr_mult = 2.f;
    bias_.decay_mult = 0.f;
  }
}

std::vector<Param*> Linear::params() {
  if (has_bias_) return {&weight_, &bias_};
  return {&weight_};
}

void Linear::to(Context& ctx) {
  Layer::to(ctx);
  x_ = Tensor();
  ones_ = Tensor();
}

Tensor Linear::forward(Context& ctx, const Tensor& x_in) {
  x_in.check_dtype(DType::F32, name_ + ": input");
  if (x_in.ndim() < 2 || x_in.numel() != x_in.size(0) * in_)
    throw std::invalid_argument(name_ + ": input " + shape_str(x_in.shape()) + " is not (N, " + std::to_string(in_) +
                                ") or (N, ...) with " + std::to_string(in_) + " features");
  if (x_in.device() != ctx.device() || weight_.value.device() != ctx.device())
    throw std::invalid_argument(name_ + ": input on " + x_in.device().str() + ", weights on " +
                                weight_.value.device().str() + ", context on " + ctx.device().str());
  const int64_t N = x_in.size(0);
  Tensor x = x_in.reshape({N, in_});
  Tensor y = Tensor::empty({N, out_}, DType::F32, ctx.device(), ctx.stream());
  if (training_) {
    x_ = x;
    x_shape_ = x_in.shape();
  }
  if (N == 0) return y;
  if (ctx.is_cuda()) {
#if FRCNN_WITH_CUDA
    if (!ones_.defined() || ones_.numel() < N) ones_ = Tensor::full({N}, 1.0, DType::F32, ctx.device(), ctx.stream());
    const Tensor xo = operand(ctx, x);
    const Tensor& wo = lowp_value(ctx, weight_);
    linear_forward_cublas(ctx, xo.raw_data(), wo.raw_data(), xo.dtype() == DType::BF16,
                          has_bias_ ? bias_.value.data<float>() : nullptr, ones_.data<float>(), y.data<float>(), N, in_,
                          out_);
#else
    throw std::runtime_error(name_ + ": CUDA context, but frcnn was built without CUDA");
#endif
  } else {
    // y (N, out) = x (N, in) * W^T (in, out)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(N), int(out_), int(in_), 1.f, operand(ctx, x).data<float>(),
                int(in_), lowp_value(ctx, weight_).data<float>(), int(in_), 0.f, y.data<float>(), int(out_));
    if (has_bias_) {
      const float* b = bias_.value.data<float>();
      float* yp = y.data<float>();
      for (int64_t n = 0; n < N; ++n)
        for (int64_t o = 0; o < out_; ++o) yp[n * out_ + o] += b[o];
    }
  }
  return y;
}

Tensor Linear::backward(Context& ctx, const Tensor& gy) {
  require_saved(x_.defined());
  const int64_t N = x_.size(0);
  gy.check_dtype(DType::F32, name_ + ": grad_out");
  gy.check_shape({N, out_}, name_ + ": grad_out");
  if (gy.device() != ctx.device()) throw std::invalid_argument(name_ + ": grad_out on the wrong device");
  const bool need_w = !weight_.frozen, need_b = has_bias_ && !bias_.frozen;
  if (need_w && !weight_.grad.defined()) zero_grad(ctx, {&weight_});
  if (need_b && !bias_.grad.defined()) zero_grad(ctx, {&bias_});
  Tensor gx;
  if (propagate_down_) gx = Tensor::empty({N, in_}, DType::F32, ctx.device(), ctx.stream());
  if (N > 0) {
    if (ctx.is_cuda()) {
#if FRCNN_WITH_CUDA
      if (!ones_.defined() || ones_.numel() < N) ones_ = Tensor::full({N}, 1.0, DType::F32, ctx.device(), ctx.stream());
      const Tensor xo = need_w ? operand(ctx, x_) : Tensor(), wo = propagate_down_ ? lowp_value(ctx, weight_) : Tensor();
      const Tensor gyo = operand(ctx, gy);
      linear_backward_cublas(ctx, need_w ? xo.raw_data() : nullptr, propagate_down_ ? wo.raw_data() : nullptr,
                             gyo.raw_data(), gyo.dtype() == DType::BF16, gy.data<float>(), ones_.data<float>(),
                             propagate_down_ ? gx.data<float>() : nullptr, need_w ? weight_.grad.data<float>() : nullptr,
                             need_b ? bias_.grad.data<float>() : nullptr, N, in_, out_);
#endif
    } else {
      const Tensor gyo = operand(ctx, gy);
      if (propagate_down_)  // gx (N, in) = gy (N, out) * W (out, in)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(N), int(in_), int(out_), 1.f, gyo.data<float>(),
                    int(out_), lowp_value(ctx, weight_).data<float>(), int(in_), 0.f, gx.data<float>(), int(in_));
      if (need_w)  // gW (out, in) += gy^T (out, N) * x (N, in)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(out_), int(in_), int(N), 1.f, gyo.data<float>(),
                    int(out_), operand(ctx, x_).data<float>(), int(in_), 1.f, weight_.grad.data<float>(), int(in_));
      if (need_b) {
        const float* g = gy.data<float>();
        float* gb = bias_.grad.data<float>();
        for (int64_t o = 0; o < out_; ++o) {
          double s = 0.0;
          for (int64_t n = 0; n < N; ++n) s += g[n * out_ + o];
          gb[o] += static_cast<float>(s);
        }
      }
    }
  }
  return propagate_down_ ? gx.reshape(x_shape_) : Tensor();
}

}  // namespace frcnn
