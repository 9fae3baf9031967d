#include "layers/basic_layers.h"

#include <stdexcept>
#include <string>

#include "kernels/dropout.h"
#include "kernels/maxpool2d.h"
#include "kernels/relu.h"

namespace frcnn {

Tensor ReLU::forward(Context& ctx, const Tensor& x) {
  Tensor y = relu_forward(ctx, x, inplace_);
  y_ = training_ ? y : Tensor();
  return y;
}

Tensor ReLU::backward(Context& ctx, const Tensor& gy) {
  require_saved(y_.defined());
  return relu_backward(ctx, y_, gy);
}

Tensor MaxPool2d::forward(Context& ctx, const Tensor& x) {
  MaxPool2dResult r = maxpool2d_forward(ctx, x, k_, s_);
  if (training_) {
    argmax_ = r.argmax;
    x_shape_ = x.shape();
  } else {
    argmax_ = Tensor();
  }
  return r.y;
}

Tensor MaxPool2d::backward(Context& ctx, const Tensor& gy) {
  require_saved(argmax_.defined());
  return maxpool2d_backward(ctx, gy, argmax_, x_shape_, k_, s_);
}

Dropout::Dropout(std::string name, float p, uint32_t layer_id) : Layer(std::move(name)), p_(p), layer_id_(layer_id) {
  if (!(p >= 0.f && p < 1.f)) throw std::invalid_argument(name_ + ": dropout p must be in [0, 1)");
}

Tensor Dropout::forward(Context& ctx, const Tensor& x) {
  saved_ = true;
  saved_training_ = training_;
  if (!training_ || p_ == 0.f) return x;
  if (!rng_) throw std::logic_error(name_ + ": Dropout in training mode needs set_rng(&counter_rng) first");
  key_ = rng_->key(RngPurpose::Dropout, layer_id_, slot_);
  return dropout_apply(ctx, x, p_, key_);
}

Tensor Dropout::backward(Context& ctx, const Tensor& gy) {
  require_saved(saved_);
  if (!saved_training_ || p_ == 0.f) return gy;
  return dropout_apply(ctx, gy, p_, key_);  // same mask and scale as the forward
}

}  // namespace frcnn
