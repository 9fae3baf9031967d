#include "layers/rpn_head.h"

#include "kernels/anchor_targets.h"
#include "kernels/axpy.h"
#include "kernels/layout.h"
#include "kernels/losses.h"
#include "layers/init.h"

namespace frcnn {

namespace {
Conv2dOptions conv_opts(int in, int out, int k, ConvBackend b, bool relu = false) {
  Conv2dOptions o;
  o.in = in;
  o.out = out;
  o.kernel = k;
  o.pad = k / 2;
  o.relu = relu;
  o.backend = b;
  return o;
}
}  // namespace

RpnHead::RpnHead(int in_channels, int num_anchors, const RpnConfig& cfg, ConvBackend backend)
    : cfg_(cfg),
      conv_("rpn_conv", conv_opts(in_channels, cfg.channels, 3, backend, /*relu=*/true)),  // rpn_relu fused
      cls_("rpn_cls_score", conv_opts(cfg.channels, 2 * num_anchors, 1, backend)),
      bbox_("rpn_bbox_pred", conv_opts(cfg.channels, 4 * num_anchors, 1, backend)) {}

RpnOutput RpnHead::forward(Context& ctx, const Tensor& features) {
  const DType act = !conv_.training() && lowp_activations_ ? inference_activation_dtype(ctx) : DType::F32;
  Tensor h = conv_.forward_as(ctx, features, act);
  return {cls_.forward(ctx, h), bbox_.forward(ctx, h)};
}

RpnLosses RpnHead::losses(Context& ctx, const RpnOutput& out, const Tensor& anchors, const Tensor& gt_boxes,
                          float img_h, float img_w, RngKey sampling, float loss_scale) const {
  const int64_t h = out.logits.size(2), w = out.logits.size(3), A = out.logits.size(1) / 2;
  const int64_t K = h * w * A;
  AnchorTargetConfig ac{cfg_.pos_iou, cfg_.neg_iou, cfg_.batch, cfg_.fg_fraction, float(cfg_.allowed_border)};
  AnchorTargets t = anchor_targets(ctx, anchors, gt_boxes, img_h, img_w, ac, sampling);
  // Channels last: (1, 2A, h, w) -> (h, w, A, 2) = (K, 2), the anchors' order; the
  // gradients go back the same way.
  LossResult ce = softmax_cross_entropy(ctx, nchw_to_nhwc(ctx, out.logits).reshape({K, 2}), t.labels);
  LossResult sl = smooth_l1(ctx, nchw_to_nhwc(ctx, out.deltas).reshape({K, 4}), t.bbox_targets, t.bbox_inside_weights,
                            t.bbox_outside_weights, cfg_.sigma, 1.f);
  RpnLosses L;
  L.cls = ce.loss;
  L.bbox = sl.loss;
  L.grad_logits = nhwc_to_nchw(ctx, tensor_scaled(ctx, loss_scale, ce.grad).reshape({1, h, w, 2 * A}));
  L.grad_deltas = nhwc_to_nchw(ctx, tensor_scaled(ctx, loss_scale, sl.grad).reshape({1, h, w, 4 * A}));
  return L;
}

Tensor RpnHead::backward(Context& ctx, const Tensor& grad_logits, const Tensor& grad_deltas) {
  // The 3x3 conv's output feeds both 1x1 convs: their input gradients add up.
  Tensor g = cls_.backward(ctx, grad_logits);
  add_into(ctx, g, bbox_.backward(ctx, grad_deltas));
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
  cls_.to(ctx);
  bbox_.to(ctx);
}

void RpnHead::set_training(bool t) {
  conv_.set_training(t);
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
    p->touch();
  }
}

}  // namespace frcnn
