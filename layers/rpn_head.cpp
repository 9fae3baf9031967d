#include "layers/rpn_head.h"

#include "layers/init.h"

namespace frcnn {

namespace {
Conv2dOptions conv_opts(int in, int out, int k, ConvBackend b) {
  Conv2dOptions o;
  o.in = in;
  o.out = out;
  o.kernel = k;
  o.pad = k / 2;
  o.backend = b;
  return o;
}
}  // namespace

RpnHead::RpnHead(int in_channels, int num_anchors, const RpnConfig& cfg, ConvBackend backend)
    : conv_("rpn_conv", conv_opts(in_channels, cfg.channels, 3, backend)),
      relu_("rpn_relu", /*inplace=*/true),
      cls_("rpn_cls_score", conv_opts(cfg.channels, 2 * num_anchors, 1, backend)),
      bbox_("rpn_bbox_pred", conv_opts(cfg.channels, 4 * num_anchors, 1, backend)) {}

RpnOutput RpnHead::forward(Context& ctx, const Tensor& features) {
  Tensor h = relu_.forward(ctx, conv_.forward(ctx, features));
  return {cls_.forward(ctx, h), bbox_.forward(ctx, h)};
}

Tensor RpnHead::backward(Context& ctx, const Tensor& grad_logits, const Tensor& grad_deltas) {
  // The 3x3 conv's output feeds both 1x1 convs: their input gradients add up.
  Tensor g = cls_.backward(ctx, grad_logits);
  add_into(ctx, g, bbox_.backward(ctx, grad_deltas));
  g = relu_.backward(ctx, g);
  return conv_.backward(ctx, g);
}

std::vector<Param*> RpnHead::params() {
  std::vector<Param*> ps;
  for (Layer* l : {static_cast<Layer*>(&conv_), static_cast<Layer*>(&cls_), static_cast<Layer*>(&bbox_)})
    for (Param* p : l->params()) ps.push_back(p);
  return ps;
}

void RpnHead::to(Context& ctx) {
  conv_.to(ctx);
  relu_.to(ctx);
  cls_.to(ctx);
  bbox_.to(ctx);
}

void RpnHead::set_training(bool t) {
  conv_.set_training(t);
  relu_.set_training(t);
  cls_.set_training(t);
  bbox_.set_training(t);
}

void RpnHead::set_frozen(bool f) {
  conv_.set_frozen(f);
  cls_.set_frozen(f);
  bbox_.set_frozen(f);
}

void RpnHead::set_conv_backend(ConvBackend b) {
  conv_.set_backend(b);
  cls_.set_backend(b);
  bbox_.set_backend(b);
}

void RpnHead::init(Context& ctx, uint64_t seed) {
  CounterRng rng(seed);
  uint32_t id = 100;
  for (Param* p : params()) {
    if (p->value.ndim() == 4) init_gaussian(ctx, p->value, 0.01f, rng.key(RngPurpose::Init, ++id));
    else init_zeros(ctx, p->value);
  }
}

}  // namespace frcnn
