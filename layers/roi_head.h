// The Fast R-CNN head: RoI max-pool over conv5_3, fc6 + ReLU + dropout, fc7 + ReLU +
// dropout, then two siblings:
//   features (N, C, H, W), rois (R, 5) = (batch, x1, y1, x2, y2) in input-image pixels
//   -> cls_score (R, K+1)  (softmax gives class probabilities; column 0 = background)
//   -> bbox_pred (R, 4(K+1)) class-specific deltas, normalised by cfg.bbox_stds
// Parameters: fc6.{weight,bias} (fc_dim, C*pool*pool), fc7.*, cls_score.* (init
// Gaussian 0.01), bbox_pred.* (Gaussian 0.001); fc6/fc7 come from ImageNet VGG16 when
// converted weights are loaded, else they are initialised here (msra / xavier).
//
// Training, per image: sample() draws the RoI minibatch and its targets from the
// proposals (py-faster-rcnn's ProposalTargetLayer), forward() runs on its RoIs, losses()
// gives the classification and box losses with their gradients, which backward() takes.
#pragma once
#include "kernels/box_math.h"
#include "kernels/proposal_targets.h"
#include "layers/basic_layers.h"
#include "layers/linear.h"
#include "layers/model_config.h"

namespace frcnn {

struct HeadOutput {
  Tensor cls_score;  // (R, K+1)
  Tensor bbox_pred;  // (R, 4(K+1))
};

struct HeadLosses {
  double cls = 0, bbox = 0;  // the two loss values (unscaled)
  Tensor grad_cls;           // (R, K+1): loss_scale * dL/dcls_score
  Tensor grad_bbox;          // (R, 4(K+1)): loss_scale * dL/dbbox_pred
};

class RoiHead {
 public:
  RoiHead(int in_channels, int num_classes, const RoiHeadConfig& cfg, float spatial_scale);

  HeadOutput forward(Context& ctx, const Tensor& features, const Tensor& rois);
  // One image's RoI minibatch: `rois_per_image` RoIs drawn with `sampling` from the
  // proposals (P, 4) and the GT boxes (G, 4) (labels (G) in 1..K), at most
  // round(fg_fraction * rois_per_image) foreground (IoU >= fg_iou), the rest background
  // (IoU in [bg_iou_lo, bg_iou_hi)); targets normalised by cfg.bbox_stds.
  ProposalTargets sample(Context& ctx, const Tensor& proposals, const Tensor& gt_boxes, const Tensor& gt_labels,
                         int rois_per_image, float bg_iou_lo, RngKey sampling) const;
  // Softmax cross-entropy averaged over the R RoIs, smooth L1 (sigma) over the foreground
  // RoIs' class columns divided by R; out holds the forward of t.rois.
  HeadLosses losses(Context& ctx, const HeadOutput& out, const ProposalTargets& t, float loss_scale) const;
  // The regression-target normalisation (cfg.bbox_stds, zero means), for decoding.
  BoxCoder coder() const;
  // -> dL/dfeatures (N, C, H, W), a fresh tensor (undefined when propagate_down is off).
  Tensor backward(Context& ctx, const Tensor& grad_cls, const Tensor& grad_bbox);

  std::vector<Param*> params();
  std::vector<Param*> fc_params();  // fc6, fc7 only
  void to(Context& ctx);
  void set_training(bool t);
  void set_frozen(bool f);
  void set_propagate_down(bool p) { propagate_down_ = p; }
  // Dropout masks are drawn from this RNG's current step, in the stream of the image's
  // place in the minibatch (`slot`), so the images of a batch get different masks.
  void set_rng(const CounterRng* rng, uint32_t slot);
  // cls/bbox always; fc6/fc7 too when `with_fc` (no ImageNet weights).
  void init(Context& ctx, uint64_t seed, bool with_fc, const std::string& method);

 private:
  RoiHeadConfig cfg_;
  int num_classes_;  // K + 1
  float spatial_scale_;
  Linear fc6_, fc7_, cls_, bbox_;
  ReLU relu6_, relu7_;
  Dropout drop6_, drop7_;
  bool propagate_down_ = true;
  // Saved by forward for backward.
  Tensor rois_, argmax_;
  Shape feat_shape_;
};

}  // namespace frcnn
