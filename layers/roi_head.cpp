#include "layers/roi_head.h"

#include "kernels/roi_pool.h"
#include "layers/init.h"

namespace frcnn {

RoiHead::RoiHead(int in_channels, int num_classes, const RoiHeadConfig& cfg, float spatial_scale)
    : cfg_(cfg),
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

void RoiHead::set_rng(const CounterRng* rng) {
  drop6_.set_rng(rng);
  drop7_.set_rng(rng);
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
