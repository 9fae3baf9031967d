// VGG16 conv1_1 ... conv5_3 with ReLU and the four 2x2 max-pools: stride 16 at conv5_3
// (the shared convolutional backbone of Faster R-CNN; VGG's last pool and fc layers are
// not part of it: fc6/fc7 live in the RoI head).
//
//   image (N, 3, H, W) -> conv5_3 features (N, widths[4], ceil-ish H/16, W/16)
// Pools round up like Caffe (MaxPool2d), so a 600x1000 input gives a 38x63 map.
// Parameter names are the converted-weights names: conv1_1.weight (out, in, 3, 3), ...
//
// Frozen blocks (the paper freezes conv1-conv2): their parameters are marked frozen,
// backward stops at the first trainable conv (which skips its input gradient), so no
// time is spent below it, and the layers below that conv run in eval mode even when the
// backbone trains, so they keep no activations. With every block frozen backward does
// nothing and a training-mode forward keeps nothing.
#pragma once
#include <memory>
#include <vector>

#include "layers/conv2d_layer.h"
#include "layers/layer.h"
#include "layers/model_config.h"

namespace frcnn {

class Vgg16Backbone : public Layer {
 public:
  explicit Vgg16Backbone(const BackboneConfig& cfg);

  Tensor forward(Context& ctx, const Tensor& x) override;
  // dL/d(conv5_3 output) -> nothing useful to return (the image gradient is never
  // needed): returns an undefined Tensor; parameter gradients accumulate.
  Tensor backward(Context& ctx, const Tensor& grad_out) override;
  std::vector<Param*> params() override;
  void to(Context& ctx) override;
  // Training mode for the layers from the first trainable conv on; eval below it.
  void set_training(bool t) override;

  // Freezes conv blocks 1..n (n = 0: all train; n = 5: none trains).
  void freeze_blocks(int n);
  int frozen_blocks() const { return frozen_blocks_; }
  void set_conv_backend(ConvBackend b);
  // Eval-mode conv*_2 / conv*_3 + pool pairs run as one fused op (Conv2d::forward_pooled);
  // on by default, same values either way (the tests compare the two).
  void set_fuse_pool(bool on) { fuse_pool_ = on; }
  // In eval mode the activations between the convs (and the output) are stored as
  // inference_activation_dtype(ctx) says: BF16 in bf16 on CUDA. On by default; the same
  // values either way (the tests compare the two).
  void set_lowp_activations(bool on) { lowp_activations_ = on; }
  int out_channels() const { return out_channels_; }
  // Random init of every conv: msra or xavier weights, zero biases.
  void init(Context& ctx, uint64_t seed, const std::string& method);

 private:
  std::vector<std::unique_ptr<Layer>> layers_;  // conv, relu (, pool) in order
  std::vector<Conv2d*> convs_;                  // the 13 convs
  std::vector<int> conv_block_;                 // block (1..5) of each conv
  std::vector<size_t> conv_index_;              // position of each conv in layers_
  // Position in layers_ of the first trainable conv (layers_.size() when all are frozen).
  size_t first_trainable_layer() const;

  int frozen_blocks_ = 0;
  int out_channels_ = 0;
  bool fuse_pool_ = true;
  bool lowp_activations_ = true;
};

}  // namespace frcnn
