// The Region Proposal Network head: a 3x3 conv + ReLU over conv5_3, then two sibling
// 1x1 convs:
//   features (1, C, H, W) -> logits (1, 2A, H, W), channel a*2 + k (k = 0 bg, 1 fg)
//                         -> deltas (1, 4A, H, W), channel a*4 + j (dx, dy, dw, dh)
// which is the layout anchors.h / proposals.h / the RPN loss expect.
// Parameters: rpn_conv.{weight,bias}, rpn_cls_score.*, rpn_bbox_pred.*; init Gaussian
// std 0.01, zero biases (the paper).
#pragma once
#include "layers/basic_layers.h"
#include "layers/conv2d_layer.h"
#include "layers/model_config.h"

namespace frcnn {

struct RpnOutput {
  Tensor logits;  // (1, 2A, H, W)
  Tensor deltas;  // (1, 4A, H, W)
};

class RpnHead {
 public:
  RpnHead(int in_channels, int num_anchors, const RpnConfig& cfg, ConvBackend backend);

  RpnOutput forward(Context& ctx, const Tensor& features);
  // Gradients of both outputs -> dL/dfeatures (undefined when propagate_down is off);
  // parameter gradients accumulate.
  Tensor backward(Context& ctx, const Tensor& grad_logits, const Tensor& grad_deltas);

  std::vector<Param*> params();
  void to(Context& ctx);
  void set_training(bool t);
  void set_frozen(bool f);
  void set_propagate_down(bool p) { conv_.set_propagate_down(p); }
  void set_conv_backend(ConvBackend b);
  void init(Context& ctx, uint64_t seed);

 private:
  Conv2d conv_;
  ReLU relu_;
  Conv2d cls_;
  Conv2d bbox_;
};

}  // namespace frcnn
