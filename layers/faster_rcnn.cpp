#include "layers/faster_rcnn.h"

#include <sstream>
#include <stdexcept>

#include "engine/log.h"
#include "engine/safetensors.h"
#include "engine/timer.h"
#include "kernels/anchor_targets.h"
#include "kernels/anchors.h"
#include "kernels/axpy.h"
#include "kernels/box_ops.h"
#include "kernels/layout.h"
#include "kernels/losses.h"
#include "kernels/nms.h"
#include "kernels/proposal_targets.h"
#include "kernels/rpn_ops.h"

namespace frcnn {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + v[i];
  return s;
}

// loss_scale * g as a fresh tensor (g itself when the scale is 1).
Tensor scaled(Context& ctx, const Tensor& g, float s) {
  if (s == 1.f) return g;
  Tensor out = Tensor::zeros(g.shape(), DType::F32, g.device(), ctx.stream());
  tensor_axpy(ctx, s, g, out);
  return out;
}

BoxCoder head_coder(const RoiHeadConfig& c) {
  BoxCoder coder;
  for (int j = 0; j < 4; ++j) coder.stds[j] = c.bbox_stds.at(j);
  return coder;
}

}  // namespace

FasterRCNN::FasterRCNN(const ModelConfig& cfg)
    : cfg_(cfg),
      backbone_(cfg.backbone),
      rpn_(backbone_.out_channels(), cfg.anchors.count(), cfg.rpn, parse_conv_backend(cfg.backbone.conv_backend)),
      head_(backbone_.out_channels(), cfg.num_classes(), cfg.roi, 1.f / float(cfg.anchors.stride)) {}

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
}

void FasterRCNN::set_training(bool t) {
  backbone_.set_training(t);
  rpn_.set_training(t);
  head_.set_training(t);
}

void FasterRCNN::set_conv_backend(ConvBackend b) {
  backbone_.set_conv_backend(b);
  rpn_.set_conv_backend(b);
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
    p->value.copy_from(t, ctx.stream());
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
  for (Param* p : params()) p->value.copy_from(f.get(p->name, p->value.shape()), ctx.stream());
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
  ProposalConfig pc{pre_nms, post_nms, cfg_.rpn.nms, cfg_.rpn.min_size};
  return proposal_layer(ctx, rpn_foreground_probs(ctx, r.logits), r.deltas.reshape({-1, h, w}), anchors_for(ctx, h, w),
                        float(image.size(2)), float(image.size(3)), scale, pc);
}

Proposals FasterRCNN::propose(Context& ctx, const Tensor& image, float scale, int pre_nms, int post_nms) {
  set_training(false);
  Tensor feat = backbone_.forward(ctx, image);
  RpnOutput r = rpn_.forward(ctx, feat);
  const int h = static_cast<int>(feat.size(2)), w = static_cast<int>(feat.size(3));
  return rpn_proposals(ctx, r, h, w, image, scale, pre_nms, post_nms);
}

DetectResult FasterRCNN::detect(Context& ctx, const Tensor& image, float scale) {
  set_training(false);
  DetectResult res;
  WallTimer total, phase;
  // Shared conv layers.
  Tensor feat = backbone_.forward(ctx, image);
  ctx.synchronize();
  res.timing.conv_ms = phase.millis();
  phase.reset();
  // RPN and proposals.
  RpnOutput r = rpn_.forward(ctx, feat);
  const int h = static_cast<int>(feat.size(2)), w = static_cast<int>(feat.size(3));
  Proposals props = rpn_proposals(ctx, r, h, w, image, scale, cfg_.rpn.test_pre_nms, cfg_.rpn.test_post_nms);
  ctx.synchronize();
  res.timing.proposals_ms = phase.millis();
  phase.reset();
  // Region-wise: RoI pool, fc6, fc7, scores, class-specific boxes, per-class NMS.
  res.num_proposals = static_cast<int>(props.boxes.size(0));
  Detections det;
  if (res.num_proposals > 0) {
    HeadOutput o = head_.forward(ctx, feat, boxes_to_rois(ctx, props.boxes, 0));
    Tensor probs = softmax(ctx, o.cls_score);
    Tensor boxes = decode_boxes(ctx, props.boxes, o.bbox_pred, head_coder(cfg_.roi));
    boxes = clip_boxes(ctx, boxes, float(image.size(2)), float(image.size(3)));
    det = detect_per_class(ctx, boxes, probs,
                           DetectConfig{cfg_.test.score_threshold, cfg_.test.nms, cfg_.test.max_per_image});
  } else {
    det.boxes = Tensor::empty({0, 4}, DType::F32, ctx.device());
    det.scores = Tensor::empty({0}, DType::F32, ctx.device());
    det.labels = Tensor::empty({0}, DType::I32, ctx.device());
  }
  // Back to original-image coordinates.
  res.boxes = scaled(ctx, det.boxes, 1.f / scale).to(Device::cpu(), ctx.stream());
  res.scores = det.scores.to(Device::cpu(), ctx.stream());
  res.labels = det.labels.to(Device::cpu(), ctx.stream());
  ctx.synchronize();
  res.timing.region_ms = phase.millis();
  res.timing.total_ms = total.millis();
  return res;
}

StepLosses FasterRCNN::train_image(Context& ctx, const Tensor& image, const Tensor& gt_boxes, const Tensor& gt_labels,
                                   float scale, TrainParts parts, const Tensor& proposals, const CounterRng& rng,
                                   uint32_t slot, float loss_scale) {
  StepLosses L;
  const bool do_rpn = parts != TrainParts::Head, do_head = parts != TrainParts::Rpn;
  const bool backbone_trains = backbone_.frozen_blocks() < 5;
  backbone_.set_training(backbone_trains);  // a frozen backbone saves no activations
  rpn_.set_training(do_rpn);
  head_.set_training(do_head);
  rpn_.set_propagate_down(backbone_trains);
  head_.set_propagate_down(backbone_trains);
  head_.set_rng(&rng);

  const float img_h = float(image.size(2)), img_w = float(image.size(3));
  Tensor feat = backbone_.forward(ctx, image);
  const int h = static_cast<int>(feat.size(2)), w = static_cast<int>(feat.size(3));
  const int A = cfg_.anchors.count();
  const int64_t K = int64_t(h) * w * A;
  Tensor grad_feat;
  Tensor head_props = proposals;

  if (do_rpn) {
    RpnOutput r = rpn_.forward(ctx, feat);
    const Tensor& anchors = anchors_for(ctx, h, w);
    AnchorTargetConfig ac{cfg_.rpn.pos_iou, cfg_.rpn.neg_iou, cfg_.rpn.batch, cfg_.rpn.fg_fraction,
                          float(cfg_.rpn.allowed_border)};
    AnchorTargets t = anchor_targets(ctx, anchors, gt_boxes, img_h, img_w, ac,
                                     rng.key(RngPurpose::AnchorSampling, slot));
    // Channels last: (1, 2A, h, w) -> (h, w, A, 2) = (K, 2), the anchors' order.
    LossResult ce = softmax_cross_entropy(ctx, nchw_to_nhwc(ctx, r.logits).reshape({K, 2}), t.labels);
    LossResult sl = smooth_l1(ctx, nchw_to_nhwc(ctx, r.deltas).reshape({K, 4}), t.bbox_targets,
                              t.bbox_inside_weights, t.bbox_outside_weights, cfg_.rpn.sigma, 1.f);
    L.rpn_cls = ce.loss;
    L.rpn_bbox = sl.loss;
    if (parts == TrainParts::Joint) {
      // Proposals for the head, treated as constants (approximate joint training).
      head_props = rpn_proposals(ctx, r, h, w, image, scale, cfg_.rpn.train_pre_nms, cfg_.rpn.train_post_nms).boxes;
    }
    Tensor g_logits = nhwc_to_nchw(ctx, scaled(ctx, ce.grad, loss_scale).reshape({1, h, w, 2 * A}));
    Tensor g_deltas = nhwc_to_nchw(ctx, scaled(ctx, sl.grad, loss_scale).reshape({1, h, w, 4 * A}));
    Tensor g = rpn_.backward(ctx, g_logits, g_deltas);
    if (g.defined()) add_into(ctx, grad_feat, g);
  }

  if (do_head) {
    if (!head_props.defined()) throw std::invalid_argument("train_image: the head needs proposals");
    ProposalTargetConfig pc;
    pc.batch = cfg_.roi.batch;
    pc.fg_fraction = cfg_.roi.fg_fraction;
    pc.fg_thresh = cfg_.roi.fg_iou;
    pc.bg_hi = cfg_.roi.bg_iou_hi;
    pc.bg_lo = cfg_.roi.bg_iou_lo;
    pc.coder = head_coder(cfg_.roi);
    ProposalTargets t = proposal_targets(ctx, head_props, gt_boxes, gt_labels, cfg_.num_classes(), pc,
                                         rng.key(RngPurpose::RoiSampling, slot));
    const int64_t R = t.rois.size(0);
    L.rois = static_cast<int>(R);
    if (R > 0) {
      std::vector<int32_t> labels = t.labels.to_vector<int32_t>();
      for (int32_t l : labels) L.fg_rois += l > 0;
      HeadOutput o = head_.forward(ctx, feat, boxes_to_rois(ctx, t.rois, 0));
      LossResult ce = softmax_cross_entropy(ctx, o.cls_score, t.labels);
      LossResult sl = smooth_l1(ctx, o.bbox_pred, t.bbox_targets, t.bbox_inside_weights, t.bbox_inside_weights,
                                cfg_.roi.sigma, float(R));
      L.cls = ce.loss;
      L.bbox = sl.loss;
      Tensor g = head_.backward(ctx, scaled(ctx, ce.grad, loss_scale), scaled(ctx, sl.grad, loss_scale));
      if (g.defined()) add_into(ctx, grad_feat, g);
    }
  }

  if (backbone_trains && grad_feat.defined()) backbone_.backward(ctx, grad_feat);
  return L;
}

}  // namespace frcnn
