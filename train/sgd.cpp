#include "train/sgd.h"

#include <cmath>
#include <stdexcept>

#include "kernels/sgd_update.h"

namespace frcnn {

Sgd::Sgd(SgdConfig cfg) : cfg_(cfg) {
  if (!(cfg.base_lr >= 0.f)) throw std::invalid_argument("Sgd: base_lr must be >= 0");
  if (!(cfg.momentum >= 0.f && cfg.momentum < 1.f)) throw std::invalid_argument("Sgd: momentum must be in [0, 1)");
  if (cfg.stepsize < 0) throw std::invalid_argument("Sgd: stepsize must be >= 0");
}

float Sgd::learning_rate(int64_t iter) const {
  if (cfg_.stepsize <= 0) return cfg_.base_lr;
  return static_cast<float>(double(cfg_.base_lr) * std::pow(double(cfg_.gamma), double(iter / cfg_.stepsize)));
}

void Sgd::step(Context& ctx, const std::vector<Param*>& params, int64_t iter) {
  step_with_lr(ctx, params, learning_rate(iter));
}

void Sgd::step_with_lr(Context& ctx, const std::vector<Param*>& params, float lr) {
  for (Param* p : params) {
    if (p->frozen) continue;
    if (!p->grad.defined()) throw std::invalid_argument("Sgd: parameter '" + p->name + "' has no gradient");
    p->grad.check_shape(p->value.shape(), "Sgd: gradient of '" + p->name + "'");
    if (p->grad.device() != p->value.device() || p->value.device() != ctx.device())
      throw std::invalid_argument("Sgd: parameter '" + p->name + "' is on " + p->value.device().str() +
                                  ", its gradient on " + p->grad.device().str() + ", the context on " +
                                  ctx.device().str());
    Tensor& v = v_[p->name];
    if (!v.defined()) {
      v = Tensor::zeros(p->value.shape(), DType::F32, ctx.device(), ctx.stream());
    } else if (v.shape() != p->value.shape() || v.device() != ctx.device()) {
      if (v.shape() != p->value.shape())
        throw std::invalid_argument("Sgd: momentum of '" + p->name + "' has shape " + shape_str(v.shape()) +
                                    ", the parameter " + shape_str(p->value.shape()));
      v = v.to(ctx.device(), ctx.stream());
    }
    const float lr_eff = lr * p->lr_mult, decay_eff = cfg_.weight_decay * p->decay_mult;
    sgd_update(ctx, p->value, v, p->grad, lr_eff, cfg_.momentum, decay_eff);
    p->touch();  // the FP32 master changed: its bf16 copy is remade at the next use
  }
}

void Sgd::set_momentum(const std::string& name, const Tensor& v, Context& ctx) {
  v.check_dtype(DType::F32, "Sgd::set_momentum('" + name + "')");
  v_[name] = v.to(ctx.device(), ctx.stream()).clone(ctx.stream());
}

}  // namespace frcnn
