#include "layers/vgg16.h"

#include "layers/basic_layers.h"
#include "layers/init.h"

namespace frcnn {

namespace {
constexpr int kConvsPerBlock[5] = {2, 2, 3, 3, 3};
}

Vgg16Backbone::Vgg16Backbone(const BackboneConfig& cfg) : Layer("vgg16") {
  const ConvBackend backend = parse_conv_backend(cfg.conv_backend);
  int64_t in = 3;
  for (int b = 0; b < 5; ++b) {
    for (int i = 0; i < kConvsPerBlock[b]; ++i) {
      const std::string name = "conv" + std::to_string(b + 1) + "_" + std::to_string(i + 1);
      Conv2dOptions o;
      o.in = in;
      o.out = cfg.widths.at(b);
      o.kernel = 3;
      o.pad = 1;
      o.relu = true;  // relu<b>_<i> fused into the conv (conv2d_layer.h)
      o.backend = backend;
      auto conv = std::make_unique<Conv2d>(name, o);
      convs_.push_back(conv.get());
      conv_block_.push_back(b + 1);
      conv_index_.push_back(layers_.size());
      layers_.push_back(std::move(conv));
      in = o.out;
    }
    if (b < 4) layers_.push_back(std::make_unique<MaxPool2d>("pool" + std::to_string(b + 1), 2, 2));
  }
  out_channels_ = static_cast<int>(in);
  freeze_blocks(cfg.frozen_blocks);
}

Tensor Vgg16Backbone::forward(Context& ctx, const Tensor& x) {
  // Inference only (a training backbone's trainable layers read their inputs in backward,
  // and its frozen ones feed them): activations in the inference type (conv2d_layer.h).
  const DType act = !training_ && lowp_activations_ ? inference_activation_dtype(ctx) : DType::F32;
  Tensor h = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    // A conv followed by a pool, both in eval mode (inference, or frozen blocks in
    // training): one fused op, the pool in the conv's epilogue (no pre-pool map).
    auto* conv = dynamic_cast<Conv2d*>(layers_[i].get());
    auto* pool = i + 1 < layers_.size() ? dynamic_cast<MaxPool2d*>(layers_[i + 1].get()) : nullptr;
    if (fuse_pool_ && conv && pool && !conv->training() && !pool->training() && pool->kernel() == pool->stride()) {
      h = conv->forward_pooled(ctx, h, pool->kernel(), act);
      ++i;
      continue;
    }
    h = conv ? conv->forward_as(ctx, h, act) : layers_[i]->forward(ctx, h);
  }
  return h;
}

size_t Vgg16Backbone::first_trainable_layer() const {
  for (size_t i = 0; i < convs_.size(); ++i)
    if (conv_block_[i] > frozen_blocks_) return conv_index_[i];
  return layers_.size();
}

Tensor Vgg16Backbone::backward(Context& ctx, const Tensor& grad_out) {
  // Backward runs down to the first trainable conv and no further.
  const size_t stop = first_trainable_layer();
  if (stop == layers_.size()) return Tensor();
  Tensor g = grad_out;
  for (size_t i = layers_.size(); i-- > stop;) g = layers_[i]->backward(ctx, g);
  return Tensor();
}

std::vector<Param*> Vgg16Backbone::params() {
  std::vector<Param*> ps;
  for (auto* c : convs_)
    for (Param* p : c->params()) ps.push_back(p);
  return ps;
}

void Vgg16Backbone::to(Context& ctx) {
  for (auto& l : layers_) l->to(ctx);
}

void Vgg16Backbone::set_training(bool t) {
  Layer::set_training(t);
  // The layers below the first trainable conv never run backward: in training mode
  // they would keep activations (over 500 MB for conv1-conv2 of a 600x1000 image) for
  // nothing, so they always run in eval mode and free each input as they go.
  const size_t first = first_trainable_layer();
  for (size_t i = 0; i < layers_.size(); ++i) layers_[i]->set_training(t && i >= first);
}

void Vgg16Backbone::freeze_blocks(int n) {
  frozen_blocks_ = n;
  bool first_trainable_seen = false;
  for (size_t i = 0; i < convs_.size(); ++i) {
    const bool frozen = conv_block_[i] <= n;
    convs_[i]->set_frozen(frozen);
    // Only the first trainable conv skips dL/dx: nothing below it needs a gradient.
    convs_[i]->set_propagate_down(frozen ? false : first_trainable_seen);
    if (!frozen) first_trainable_seen = true;
  }
  set_training(training_);  // which layers keep activations depends on the frozen blocks
}

void Vgg16Backbone::set_conv_backend(ConvBackend b) {
  for (auto* c : convs_) c->set_backend(b);
}

void Vgg16Backbone::init(Context& ctx, uint64_t seed, const std::string& method) {
  CounterRng rng(seed);
  uint32_t id = 0;
  for (auto* c : convs_) {
    for (Param* p : c->params()) {
      if (p->value.ndim() == 4) {
        RngKey key = rng.key(RngPurpose::Init, ++id);
        if (method == "xavier") init_xavier(ctx, p->value, key);
        else init_msra(ctx, p->value, key);
      } else {
        init_zeros(ctx, p->value);
      }
      p->touch();
    }
  }
}

}  // namespace frcnn
