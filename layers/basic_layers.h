// Parameter-free layers: ReLU, MaxPool2d (2x2/2, ceil rounding), Dropout.
// Each saves what its backward needs in training mode only.
#pragma once
#include "engine/rng.h"
#include "layers/layer.h"

namespace frcnn {

// y = max(x, 0). inplace: y reuses x's storage (the caller must not need x again);
// backward reads only y, so it is exact either way.
class ReLU : public Layer {
 public:
  explicit ReLU(std::string name, bool inplace = false) : Layer(std::move(name)), inplace_(inplace) {}
  Tensor forward(Context& ctx, const Tensor& x) override;
  Tensor backward(Context& ctx, const Tensor& grad_out) override;
  void to(Context&) override { y_ = Tensor(); }

 private:
  bool inplace_;
  Tensor y_;
};

// Max pooling, kernel k, stride s, no padding, Ho = ceil((H - k) / s) + 1 (Caffe's
// rounding; torch's ceil_mode=True). See kernels/maxpool2d.h.
class MaxPool2d : public Layer {
 public:
  explicit MaxPool2d(std::string name, int kernel = 2, int stride = 2)
      : Layer(std::move(name)), k_(kernel), s_(stride) {}
  Tensor forward(Context& ctx, const Tensor& x) override;
  Tensor backward(Context& ctx, const Tensor& grad_out) override;
  void to(Context&) override { argmax_ = Tensor(); }
  int kernel() const { return k_; }
  int stride() const { return s_; }

 private:
  int k_, s_;
  Tensor argmax_;
  Shape x_shape_;
};

// Inverted dropout with probability p (0.5 in VGG16's fc6/fc7). In training mode the
// mask comes from rng->key(RngPurpose::Dropout, layer_id, slot) at the rng's current
// step: each image of a minibatch (its slot) gets its own mask, CPU and CUDA drop the
// same elements, and a resumed run repeats the same masks. Eval mode is the identity.
// Training mode without set_rng() throws.
class Dropout : public Layer {
 public:
  Dropout(std::string name, float p = 0.5f, uint32_t layer_id = 0);
  // The generator and the image's place in the minibatch; both are read at forward.
  void set_rng(const CounterRng* rng, uint32_t slot = 0) {
    rng_ = rng;
    slot_ = slot;
  }
  Tensor forward(Context& ctx, const Tensor& x) override;
  Tensor backward(Context& ctx, const Tensor& grad_out) override;
  float p() const { return p_; }

 private:
  float p_;
  uint32_t layer_id_;
  const CounterRng* rng_ = nullptr;
  uint32_t slot_ = 0;
  RngKey key_;       // the key of the last training forward
  bool saved_ = false;
  bool saved_training_ = false;
};

}  // namespace frcnn
