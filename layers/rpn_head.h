// The Region Proposal Network head: a 3x3 conv + ReLU over conv5_3, then two sibling
// 1x1 convs:
//   features (1, C, H, W) -> logits (1, 2A, H, W), channel a*2 + k (k = 0 bg, 1 fg)
//                         -> deltas (1, 4A, H, W), channel a*4 + j (dx, dy, dw, dh)
// which is the layout anchors.h / proposals.h / the RPN loss expect.
// Parameters: rpn_conv.{weight,bias}, rpn_cls_score.*, rpn_bbox_pred.*; init Gaussian
// std 0.01, zero biases (the paper).
//
// Training: losses() turns the outputs into the RPN's two losses for one image (anchor
// targets, softmax cross-entropy, smooth L1) and their gradients, which backward() takes.
#pragma once
#include "engine/rng.h"
#include "layers/basic_layers.h"
#include "layers/conv2d_layer.h"
#include "layers/model_config.h"

namespace frcnn {

struct RpnOutput {
  Tensor logits;  // (1, 2A, H, W)
  Tensor deltas;  // (1, 4A, H, W)
};

struct RpnLosses {
  double cls = 0, bbox = 0;  // the two loss values (unscaled)
  Tensor grad_logits;        // (1, 2A, H, W): loss_scale * dL/dlogits
  Tensor grad_deltas;        // (1, 4A, H, W): loss_scale * dL/ddeltas
};

class RpnHead {
 public:
  RpnHead(int in_channels, int num_anchors, const RpnConfig& cfg, ConvBackend backend);

  RpnOutput forward(Context& ctx, const Tensor& features);
  // One image's losses (py-faster-rcnn's AnchorTargetLayer and the two loss layers):
  // anchors (H*W*A, 4) in the (h, w, a) order of make_anchors, gt_boxes (G, 4), both in
  // input-image pixels of an img_h x img_w image; `sampling` draws the anchor batch.
  // Cross-entropy is averaged over the sampled anchors; smooth L1 (sigma) is summed over
  // the positives with outside weight 1 / (anchors sampled), py-faster-rcnn's form of the
  // paper's lambda = 1 normalisation.
  RpnLosses losses(Context& ctx, const RpnOutput& out, const Tensor& anchors, const Tensor& gt_boxes, float img_h,
                   float img_w, RngKey sampling, float loss_scale) const;
  // Gradients of both outputs -> dL/dfeatures (undefined when propagate_down is off);
  // parameter gradients accumulate.
  Tensor backward(Context& ctx, const Tensor& grad_logits, const Tensor& grad_deltas);

  std::vector<Param*> params();
  void to(Context& ctx);
  void set_training(bool t);
  void set_frozen(bool f);
  void set_propagate_down(bool p) { conv_.set_propagate_down(p); }
  void set_conv_backend(ConvBackend b);
  // In eval mode the 3x3 conv's output (the 1x1 heads' input) is stored as
  // inference_activation_dtype(ctx) says; the heads' outputs are F32 always. On by default.
  void set_lowp_activations(bool on) { lowp_activations_ = on; }
  void init(Context& ctx, uint64_t seed);

 private:
  RpnConfig cfg_;
  bool lowp_activations_ = true;
  Conv2d conv_;  // 3x3 + ReLU (fused)
  Conv2d cls_;
  Conv2d bbox_;
};

}  // namespace frcnn
