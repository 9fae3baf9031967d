#include "layers/layer.h"

#include <set>
#include <stdexcept>

#include "engine/safetensors.h"
#include "kernels/axpy.h"

namespace frcnn {

void Layer::to(Context& ctx) {
  for (Param* p : params()) {
    p->value = p->value.to(ctx.device(), ctx.stream());
    if (p->grad.defined()) p->grad = p->grad.to(ctx.device(), ctx.stream());
    p->lowp = LowpCopy{};  // made on the old device
    p->touch();
  }
}

void Layer::set_frozen(bool f) {
  for (Param* p : params()) p->frozen = f;
}

void Layer::require_saved(bool ok) const {
  if (!ok)
    throw std::logic_error(name_ + ": backward called without a saved forward (call forward in training mode first)");
}

Layer& Sequential::add(std::unique_ptr<Layer> layer) {
  if (!layer) throw std::invalid_argument(name_ + ": add(nullptr)");
  layers_.push_back(std::move(layer));
  return *layers_.back();
}

Tensor Sequential::forward(Context& ctx, const Tensor& x) {
  Tensor h = x;
  for (auto& l : layers_) h = l->forward(ctx, h);
  return h;
}

Tensor Sequential::backward(Context& ctx, const Tensor& grad_out) {
  Tensor g = grad_out;
  for (size_t i = layers_.size(); i-- > 0;) g = layers_[i]->backward(ctx, g);
  return g;
}

std::vector<Param*> Sequential::params() {
  std::vector<Param*> out;
  for (auto& l : layers_)
    for (Param* p : l->params()) out.push_back(p);
  return out;
}

void Sequential::to(Context& ctx) {
  for (auto& l : layers_) l->to(ctx);
}

void Sequential::set_training(bool t) {
  Layer::set_training(t);
  for (auto& l : layers_) l->set_training(t);
}

void Sequential::set_propagate_down(bool p) {
  Layer::set_propagate_down(p);
  if (!layers_.empty()) layers_.front()->set_propagate_down(p);
}

Layer* Sequential::find(const std::string& name) {
  for (auto& l : layers_)
    if (l->name() == name) return l.get();
  return nullptr;
}

void zero_grad(Context& ctx, const std::vector<Param*>& params) {
  for (Param* p : params) {
    if (!p->grad.defined() || p->grad.shape() != p->value.shape() || p->grad.device() != p->value.device())
      p->grad = Tensor::empty(p->value.shape(), DType::F32, p->value.device(), ctx.stream());
    p->grad.zero_(ctx.stream());
  }
}

void add_into(Context& ctx, Tensor& dst, const Tensor& src) {
  if (!src.defined()) return;
  if (!dst.defined()) {
    dst = src.clone(ctx.stream());
    return;
  }
  tensor_axpy(ctx, 1.f, src, dst);
}

void save_params(const std::string& path, const std::vector<Param*>& params,
                 const std::map<std::string, std::string>& metadata) {
  std::map<std::string, Tensor> ts;
  for (const Param* p : params) {
    auto it = ts.find(p->name);
    if (it != ts.end() && !it->second.shares_storage_with(p->value))
      throw std::invalid_argument("save_params(" + path + "): two different parameters named '" + p->name + "'");
    ts[p->name] = p->value;
  }
  save_safetensors(path, ts, metadata);
}

std::vector<std::string> load_params(Context& ctx, const std::string& path, const std::vector<Param*>& params,
                                     bool allow_missing) {
  TensorFile f = load_safetensors(path);
  std::vector<std::string> missing;
  for (Param* p : params) {
    if (!f.has(p->name)) {
      if (!allow_missing)
        throw std::runtime_error(path + ": parameter '" + p->name + "' not found in the file");
      missing.push_back(p->name);
      continue;
    }
    const Tensor& t = f.get(p->name, p->value.shape(), DType::F32);  // throws naming file, tensor, both shapes
    p->value.copy_from(t, ctx.stream());
    p->touch();
  }
  ctx.synchronize();
  return missing;
}

}  // namespace frcnn
