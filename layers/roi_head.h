// The Fast R-CNN head: RoI max-pool over conv5_3, fc6 + ReLU + dropout, fc7 + ReLU +
// dropout, then two siblings:
//   features (N, C, H, W), rois (R, 5) = (batch, x1, y1, x2, y2) in input-image pixels
//   -> cls_score (R, K+1)  (softmax gives class probabilities; column 0 = background)
//   -> bbox_pred (R, 4(K+1)) class-specific deltas, normalised by cfg.bbox_stds
// Parameters: fc6.{weight,bias} (fc_dim, C*pool*pool), fc7.*, cls_score.* (init
// Gaussian 0.01), bbox_pred.* (Gaussian 0.001); fc6/fc7 come from ImageNet VGG16 when
// converted weights are loaded, else they are initialised here (msra / xavier).
#pragma once
#include "layers/basic_layers.h"
#include "layers/linear.h"
#include "layers/model_config.h"

namespace frcnn {

struct HeadOutput {
  Tensor cls_score;  // (R, K+1)
  Tensor bbox_pred;  // (R, 4(K+1))
};

class RoiHead {
 public:
  RoiHead(int in_channels, int num_classes, const RoiHeadConfig& cfg, float spatial_scale);

  HeadOutput forward(Context& ctx, const Tensor& features, const Tensor& rois);
  // -> dL/dfeatures (N, C, H, W), a fresh tensor (undefined when propagate_down is off).
  Tensor backward(Context& ctx, const Tensor& grad_cls, const Tensor& grad_bbox);

  std::vector<Param*> params();
  std::vector<Param*> fc_params();  // fc6, fc7 only
  void to(Context& ctx);
  void set_training(bool t);
  void set_frozen(bool f);
  void set_propagate_down(bool p) { propagate_down_ = p; }
  // Dropout masks are drawn from this RNG's current step (training only).
  void set_rng(const CounterRng* rng);
  // cls/bbox always; fc6/fc7 too when `with_fc` (no ImageNet weights).
  void init(Context& ctx, uint64_t seed, bool with_fc, const std::string& method);

 private:
  RoiHeadConfig cfg_;
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
