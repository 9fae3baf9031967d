#include "layers/faster_rcnn.h"

#include <sstream>
#include <stdexcept>

#include "engine/log.h"
#include "engine/safetensors.h"
#include "engine/timer.h"
#include "kernels/anchors.h"
#include "kernels/axpy.h"
#include "kernels/box_ops.h"
#include "kernels/losses.h"
#include "kernels/nms.h"
#include "kernels/rpn_ops.h"

namespace frcnn {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + v[i];
  return s;
}

}  // namespace

FasterRCNN::FasterRCNN(const ModelConfig& cfg)
    : cfg_(cfg),
      backbone_(cfg.backbone),
      rpn_(backbone_.out_channels(), cfg.anchors.count(), cfg.rpn, parse_conv_backend(cfg.backbone.conv_backend)),
      head_(backbone_.out_channels(), cfg.num_classes(), cfg.roi, 1.f / float(cfg.anchors.stride)),
      conv_backend_(parse_conv_backend(cfg.backbone.conv_backend)),
      cuda_graphs_(cfg.test.cuda_graphs) {}

std::vector<Param*> FasterRCNN::params() {
  std::vector<Param*> ps = backbone_.params();
  for (Param* p : rpn_.params()) ps.push_back(p);
  for (Param* p : head_.params()) ps.push_back(p);
  return ps;
}

void FasterRCNN::to(Context& ctx) {
  backbone_.to(ctx);
  rpn_.to(ctx);
  head_.to(ctx);
  anchor_cache_.clear();
  plans_.clear();  // their graphs hold the old parameters' addresses
}

void FasterRCNN::set_training(bool t) {
  backbone_.set_training(t);
  rpn_.set_training(t);
  head_.set_training(t);
}

void FasterRCNN::set_lowp_activations(bool on) {
  backbone_.set_lowp_activations(on);
  rpn_.set_lowp_activations(on);
  plans_.clear();
}

void FasterRCNN::set_conv_backend(ConvBackend b) {
  backbone_.set_conv_backend(b);
  rpn_.set_conv_backend(b);
  conv_backend_ = b;
}

void FasterRCNN::init(Context& ctx, uint64_t seed, const std::string& method) {
  backbone_.init(ctx, seed, method);
  rpn_.init(ctx, seed);
  head_.init(ctx, seed, /*with_fc=*/true, method);
}

void FasterRCNN::load_imagenet(Context& ctx, const std::string& path) {
  TensorFile f = load_safetensors(path);
  for (Param* p : backbone_.params()) {
    const Tensor& t = f.get(p->name, p->value.shape());
    p->value.copy_from(t, ctx.stream());
    p->touch();
  }
  for (Param* p : head_.fc_params()) {
    if (!f.has(p->name)) {
      log_warn(path + ": no '" + p->name + "': it keeps its random init");
      continue;
    }
    const Tensor& t = f.get(p->name);
    if (t.shape() != p->value.shape()) {
      log_warn(path + ": '" + p->name + "' has shape " + shape_str(t.shape()) + " but this config needs " +
               shape_str(p->value.shape()) + ": it keeps its random init");
      continue;
    }
    p->value.copy_from(f.get(p->name, p->value.shape()), ctx.stream());  // + dtype and finiteness
    p->touch();
  }
  ctx.synchronize();
}

void FasterRCNN::load(Context& ctx, const std::string& path) {
  TensorFile f = load_safetensors(path);
  const std::string classes = f.meta("classes");
  if (classes.empty())
    throw std::runtime_error(path + ": not a frcnn detector (no 'classes' metadata); ImageNet weights go to --weights "
                                    "of frcnn train");
  if (classes != join(cfg_.classes))
    throw std::runtime_error(path + ": trained for classes [" + classes + "] but the config has [" +
                             join(cfg_.classes) + "]");
  for (Param* p : params()) {
    p->value.copy_from(f.get(p->name, p->value.shape()), ctx.stream());
    p->touch();
  }
  ctx.synchronize();
}

void FasterRCNN::save(const std::string& path, std::map<std::string, std::string> extra) {
  extra["format"] = "frcnn-model-1";
  extra["classes"] = join(cfg_.classes);
  save_params(path, params(), extra);
}

const Tensor& FasterRCNN::anchors_for(Context& ctx, int h, int w) {
  auto key = std::make_pair(h, w);
  auto it = anchor_cache_.find(key);
  if (it == anchor_cache_.end() || it->second.device() != ctx.device()) {
    Tensor a = make_anchors(h, w, cfg_.anchors.stride, cfg_.anchors.sizes, cfg_.anchors.ratios, ctx.device(),
                            ctx.stream());
    it = anchor_cache_.insert_or_assign(key, a).first;
  }
  return it->second;
}

Proposals FasterRCNN::rpn_proposals(Context& ctx, const RpnOutput& r, int h, int w, const Tensor& image, float scale,
                                     int pre_nms, int post_nms) {
  return proposal_layer(ctx, rpn_foreground_probs(ctx, r.logits), r.deltas.reshape({-1, h, w}), anchors_for(ctx, h, w),
                        float(image.size(2)), float(image.size(3)), scale, proposal_config(pre_nms, post_nms));
}

ProposalConfig FasterRCNN::proposal_config(int pre_nms, int post_nms) const {
  return ProposalConfig{pre_nms, post_nms, cfg_.rpn.nms, cfg_.rpn.min_size};
}

Proposals FasterRCNN::propose(Context& ctx, const Tensor& image, float scale, int pre_nms, int post_nms) {
  set_training(false);
  Tensor feat = backbone_.forward(ctx, image);
  RpnOutput r = rpn_.forward(ctx, feat);
  const int h = static_cast<int>(feat.size(2)), w = static_cast<int>(feat.size(3));
  return rpn_proposals(ctx, r, h, w, image, scale, pre_nms, post_nms);
}

TrainStep minibatch_step(TrainParts parts, const ModelConfig& cfg, int ims_per_batch, float bg_iou_lo) {
  if (ims_per_batch < 1) throw std::invalid_argument("minibatch_step: ims_per_batch must be at least 1");
  if (parts != TrainParts::Rpn && cfg.roi.batch % ims_per_batch != 0)
    throw std::invalid_argument("model.roi.batch (" + std::to_string(cfg.roi.batch) + ") must be a multiple of the " +
                                std::to_string(ims_per_batch) + " images per batch");
  TrainStep s;
  s.parts = parts;
  s.loss_scale = 1.f / float(ims_per_batch);
  s.rois_per_image = cfg.roi.batch / ims_per_batch;
  s.bg_iou_lo = bg_iou_lo;
  return s;
}

StepLosses FasterRCNN::train_image(Context& ctx, const Tensor& image, const Tensor& gt_boxes, const Tensor& gt_labels,
                                   float scale, const Tensor& proposals, const CounterRng& rng, uint32_t slot,
                                   const TrainStep& step) {
  StepLosses L;
  const bool do_rpn = step.parts != TrainParts::Head, do_head = step.parts != TrainParts::Rpn;
  // Only what trains keeps activations: the backbone from its first trainable block on.
  backbone_.set_training(true);
  rpn_.set_training(do_rpn);
  head_.set_training(do_head);
  const bool backbone_trains = backbone_.frozen_blocks() < 5;
  rpn_.set_propagate_down(backbone_trains);
  head_.set_propagate_down(backbone_trains);
  head_.set_rng(&rng, slot);

  const float img_h = float(image.size(2)), img_w = float(image.size(3));
  Tensor feat = backbone_.forward(ctx, image);
  const int h = static_cast<int>(feat.size(2)), w = static_cast<int>(feat.size(3));
  Tensor grad_feat;  // dL/dconv5_3: the RPN's and the head's contributions, summed
  Tensor head_props = proposals;

  if (do_rpn) {
    RpnOutput r = rpn_.forward(ctx, feat);
    RpnLosses rl = rpn_.losses(ctx, r, anchors_for(ctx, h, w), gt_boxes, img_h, img_w,
                               rng.key(RngPurpose::AnchorSampling, slot), step.loss_scale);
    L.rpn_cls = rl.cls;
    L.rpn_bbox = rl.bbox;
    // Approximate joint training: the RPN's proposals feed the head as constants.
    if (step.parts == TrainParts::Joint)
      head_props = rpn_proposals(ctx, r, h, w, image, scale, cfg_.rpn.train_pre_nms, cfg_.rpn.train_post_nms).boxes;
    Tensor g = rpn_.backward(ctx, rl.grad_logits, rl.grad_deltas);
    if (g.defined()) add_into(ctx, grad_feat, g);
  }

  if (do_head) {
    if (!head_props.defined()) throw std::invalid_argument("train_image: the head needs proposals");
    ProposalTargets t = head_.sample(ctx, head_props, gt_boxes, gt_labels, step.rois_per_image, step.bg_iou_lo,
                                     rng.key(RngPurpose::RoiSampling, slot));
    L.rois = static_cast<int>(t.rois.size(0));
    if (L.rois > 0) {
      for (int32_t l : t.labels.to_vector<int32_t>()) L.fg_rois += l > 0;
      HeadOutput o = head_.forward(ctx, feat, boxes_to_rois(ctx, t.rois, 0));
      HeadLosses hl = head_.losses(ctx, o, t, step.loss_scale);
      L.cls = hl.cls;
      L.bbox = hl.bbox;
      Tensor g = head_.backward(ctx, hl.grad_cls, hl.grad_bbox);
      if (g.defined()) add_into(ctx, grad_feat, g);
    }
  }

  if (backbone_trains && grad_feat.defined()) backbone_.backward(ctx, grad_feat);
  return L;
}

}  // namespace frcnn
