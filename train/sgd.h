// SGD with momentum, Caffe's update rule (the released Faster R-CNN solver):
//   v = momentum * v + lr * lr_mult * (grad + weight_decay * decay_mult * w)
//   w = w - v
// with the "step" learning-rate policy lr(iter) = base_lr * gamma^floor(iter / stepsize).
// Frozen params are untouched (no momentum buffer is created for them). Momentum
// buffers live by parameter name, so checkpoints save/restore them exactly.
// Runs on the params' device (kernels/sgd_update.h: one kernel per param); deterministic.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/context.h"
#include "layers/layer.h"

namespace frcnn {

struct SgdConfig {
  float base_lr = 0.001f;         // paper: 0.001, then 0.0001
  float momentum = 0.9f;
  float weight_decay = 0.0005f;
  float gamma = 0.1f;             // lr multiplier at each step
  int64_t stepsize = 0;           // iterations per lr step; 0 = constant lr
};

class Sgd {
 public:
  explicit Sgd(SgdConfig cfg = {});
  const SgdConfig& config() const { return cfg_; }
  float learning_rate(int64_t iter) const;

  // One update of every non-frozen param at lr = learning_rate(iter). Every such param
  // needs a defined grad of its value's shape/device (throws naming the param).
  void step(Context& ctx, const std::vector<Param*>& params, int64_t iter);
  void step_with_lr(Context& ctx, const std::vector<Param*>& params, float lr);

  // Momentum buffers by param name (created as zeros on a param's first update).
  const std::map<std::string, Tensor>& momentum_buffers() const { return v_; }
  // Restores a buffer (copied to `device`); shape is checked on the next step.
  void set_momentum(const std::string& name, const Tensor& v, Context& ctx);
  void clear_momentum() { v_.clear(); }

 private:
  SgdConfig cfg_;
  std::map<std::string, Tensor> v_;
};

}  // namespace frcnn
