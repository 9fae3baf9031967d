#include "layers/roi_head.h"

#include "kernels/axpy.h"
#include "kernels/losses.h"
#include "kernels/roi_pool.h"
#include "layers/init.h"

namespace frcnn {

RoiHead::RoiHead(int in_channels, int num_classes, const RoiHeadConfig& cfg, float spatial_scale)
    : cfg_(cfg),
      num_classes_(num_classes),
      spatial_scale_(spatial_scale),
      fc6_("fc6", int64_t(in_channels) * cfg.pool * cfg.pool, cfg.fc_dim),
      fc7_("fc7", cfg.fc_dim, cfg.fc_dim),
      cls_("cls_score", cfg.fc_dim, num_classes),
      bbox_("bbox_pred", cfg.fc_dim, 4 * num_classes),
      relu6_("relu6", true),
      relu7_("relu7", true),
      drop6_("drop6", cfg.dropout, 6),
      drop7_("drop7", cfg.dropout, 7) {}

HeadOutput RoiHead::forward(Context& ctx, const Tensor& features, const Tensor& rois) {
  RoiPoolResult pooled = roi_pool_forward(ctx, features, rois, cfg_.pool, cfg_.pool, spatial_scale_);
  if (fc6_.training()) {
    rois_ = rois;
    argmax_ = pooled.argmax;
    feat_shape_ = features.shape();
  }
  const int64_t R = rois.size(0);
  Tensor h = pooled.output.reshape({R, -1});  // (R, C*pool*pool), C-major like Caffe's flatten
  h = fc6_.forward(ctx, h);
  h = relu6_.forward(ctx, h);
  if (cfg_.dropout > 0) h = drop6_.forward(ctx, h);
  h = fc7_.forward(ctx, h);
  h = relu7_.forward(ctx, h);
  if (cfg_.dropout > 0) h = drop7_.forward(ctx, h);
  return {cls_.forward(ctx, h), bbox_.forward(ctx, h)};
}

ProposalTargets RoiHead::sample(Context& ctx, const Tensor& proposals, const Tensor& gt_boxes, const Tensor& gt_labels,
                                int rois_per_image, float bg_iou_lo, RngKey sampling) const {
  ProposalTargetConfig pc;
  pc.batch = rois_per_image;
  pc.fg_fraction = cfg_.fg_fraction;
  pc.fg_thresh = cfg_.fg_iou;
  pc.bg_hi = cfg_.bg_iou_hi;
  pc.bg_lo = bg_iou_lo;
  pc.coder = coder();
  return proposal_targets(ctx, proposals, gt_boxes, gt_labels, num_classes_, pc, sampling);
}

HeadLosses RoiHead::losses(Context& ctx, const HeadOutput& out, const ProposalTargets& t, float loss_scale) const {
  const int64_t R = t.rois.size(0);
  if (R == 0) throw std::invalid_argument("RoiHead::losses: no RoIs (the caller skips the head for such an image)");
  LossResult ce = softmax_cross_entropy(ctx, out.cls_score, t.labels);
  // py-faster-rcnn's outside weights equal the inside ones (1 in the label's 4 columns).
  LossResult sl = smooth_l1(ctx, out.bbox_pred, t.bbox_targets, t.bbox_inside_weights, t.bbox_inside_weights,
                            cfg_.sigma, float(R));
  HeadLosses L;
  L.cls = ce.loss;
  L.bbox = sl.loss;
  L.grad_cls = tensor_scaled(ctx, loss_scale, ce.grad);
  L.grad_bbox = tensor_scaled(ctx, loss_scale, sl.grad);
  return L;
}

BoxCoder RoiHead::coder() const {
  BoxCoder c;
  for (int j = 0; j < 4; ++j) c.stds[j] = cfg_.bbox_stds.at(j);
  return c;
}

Tensor RoiHead::backward(Context& ctx, const Tensor& grad_cls, const Tensor& grad_bbox) {
  Tensor g = cls_.backward(ctx, grad_cls);
  add_into(ctx, g, bbox_.backward(ctx, grad_bbox));  // fc7's output feeds both siblings
  if (cfg_.dropout > 0) g = drop7_.backward(ctx, g);
  g = relu7_.backward(ctx, g);
  g = fc7_.backward(ctx, g);
  if (cfg_.dropout > 0) g = drop6_.backward(ctx, g);
  g = relu6_.backward(ctx, g);
  g = fc6_.backward(ctx, g);
  if (!propagate_down_) return Tensor();
  if (!argmax_.defined()) throw std::logic_error("RoiHead::backward without a training-mode forward");
  const int64_t R = rois_.size(0);
  g = g.reshape({R, feat_shape_[1], cfg_.pool, cfg_.pool});
  return roi_pool_backward(ctx, g, argmax_, rois_, static_cast<int>(feat_shape_[0]), static_cast<int>(feat_shape_[1]),
                           static_cast<int>(feat_shape_[2]), static_cast<int>(feat_shape_[3]), spatial_scale_);
}

std::vector<Param*> RoiHead::params() {
  std::vector<Param*> ps = fc_params();
  for (Layer* l : {static_cast<Layer*>(&cls_), static_cast<Layer*>(&bbox_)})
    for (Param* p : l->params()) ps.push_back(p);
  return ps;
}

std::vector<Param*> RoiHead::fc_params() {
  std::vector<Param*> ps;
  for (Layer* l : {static_cast<Layer*>(&fc6_), static_cast<Layer*>(&fc7_)})
    for (Param* p : l->params()) ps.push_back(p);
  return ps;
}

void RoiHead::to(Context& ctx) {
  for (Layer* l : std::initializer_list<Layer*>{&fc6_, &fc7_, &cls_, &bbox_, &relu6_, &relu7_, &drop6_, &drop7_})
    l->to(ctx);
  rois_ = Tensor();
  argmax_ = Tensor();
}

void RoiHead::set_training(bool t) {
  for (Layer* l : std::initializer_list<Layer*>{&fc6_, &fc7_, &cls_, &bbox_, &relu6_, &relu7_, &drop6_, &drop7_})
    l->set_training(t);
  if (!t) {
    rois_ = Tensor();
    argmax_ = Tensor();
  }
}

void RoiHead::set_frozen(bool f) {
  for (Layer* l : std::initializer_list<Layer*>{&fc6_, &fc7_, &cls_, &bbox_}) l->set_frozen(f);
}

void RoiHead::set_rng(const CounterRng* rng, uint32_t slot) {
  drop6_.set_rng(rng, slot);
  drop7_.set_rng(rng, slot);
}

void RoiHead::init(Context& ctx, uint64_t seed, bool with_fc, const std::string& method) {
  CounterRng rng(seed);
  auto init_layer = [&](Linear& l, float std, uint32_t id) {
    for (Param* p : l.params()) {
      if (p->value.ndim() != 2) {
        init_zeros(ctx, p->value);
      } else if (std > 0) {
        init_gaussian(ctx, p->value, std, rng.key(RngPurpose::Init, id));
      } else if (method == "xavier") {
        init_xavier(ctx, p->value, rng.key(RngPurpose::Init, id));
      } else {
        init_msra(ctx, p->value, rng.key(RngPurpose::Init, id));
      }
      p->touch();
    }
  };
  if (with_fc) {
    init_layer(fc6_, 0.f, 206);
    init_layer(fc7_, 0.f, 207);
  }
  init_layer(cls_, 0.01f, 208);
  init_layer(bbox_, 0.001f, 209);
}

}  // namespace frcnn
