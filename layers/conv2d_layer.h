// Conv2d layer (NCHW, F32) over kernels/conv2d.h, with a choice of CUDA backend:
//   own   — our implicit-GEMM kernels (kernels/conv2d_cuda.cu), the default;
//   cudnn — cuDNN (the cross-check and speed yardstick; needs FRCNN_WITH_CUDNN).
// The CPU path (oneDNN, kernels/conv2d_onednn.h) is the same for both. Params "<name>.weight"
// (out, in, k, k) and "<name>.bias" (out); bias lr_mult 2 as in py-faster-rcnn, decay_mult 0
// here; the trainer sets both from solver.bias_lr_mult / bias_decay_mult (default 1, as
// py-faster-rcnn's prototxts leave Caffe's default, so its biases are decayed).
// Parameter grads accumulate (+=); frozen params get no grad computed.
#pragma once
#include "layers/layer.h"

namespace frcnn {

enum class ConvBackend { Own, Cudnn };

// The type a network in eval mode stores its activations in: BF16 on CUDA in bf16 (half the
// bytes of F32 and the same detections, bit for bit: every conv, RoI pooling's consumer fc6
// and the RPN's 1x1 heads round their input to BF16 anyway, and ReLU, max-pooling and RoI
// max-pooling commute with that rounding), else F32 (the CPU path would only convert more).
DType inference_activation_dtype(const Context& ctx);
// "own" | "cudnn" (throws std::invalid_argument naming the bad value).
ConvBackend parse_conv_backend(const std::string& s);
const char* conv_backend_name(ConvBackend b);

struct Conv2dOptions {
  int64_t in = 0, out = 0;
  int64_t kernel = 3;  // 1 or 3 in the engine (any >= 1 works)
  int64_t pad = 1;
  int64_t stride = 1;
  bool bias = true;
  // ReLU fused into the layer: y = max(conv + b, 0). Our kernels apply it in the conv's
  // epilogue, cuDNN's output gets an in-place ReLU. Backward needs only y (as a separate
  // ReLU's would), so fusing saves a pass over the activation and changes nothing else.
  bool relu = false;
  ConvBackend backend = ConvBackend::Own;
};

class Conv2d : public Layer {
 public:
  Conv2d(std::string name, const Conv2dOptions& opt);
  // x F32, or BF16 in eval mode (a bf16 network's stored activations, kernels/conv2d.h).
  Tensor forward(Context& ctx, const Tensor& x) override;
  // forward with the output stored as `out`: F32, or BF16 (eval mode only: backward needs
  // F32 activations), each output rounded once; our kernels write it from their epilogue,
  // cuDNN's and the CPU's F32 output is rounded after.
  Tensor forward_as(Context& ctx, const Tensor& x, DType out);
  Tensor backward(Context& ctx, const Tensor& grad_out) override;
  // Eval mode only: a max-pool (kernel = stride = pool) of forward(x), which needs the fused
  // ReLU; with our CUDA kernels the pool runs in the convolution's epilogue
  // (conv2d_relu_maxpool_forward: the unpooled map is never written), cuDNN's output and
  // the CPU's are pooled by maxpool2d_forward. The same values as forward then MaxPool2d;
  // `out` as forward_as's.
  Tensor forward_pooled(Context& ctx, const Tensor& x, int pool, DType out = DType::F32);
  std::vector<Param*> params() override;
  void to(Context& ctx) override;
  void set_backend(ConvBackend b) { opt_.backend = b; }
  const Conv2dOptions& options() const { return opt_; }
  Param& weight() { return weight_; }
  Param& bias() { return bias_; }

 private:
  // Throws "<name>: input ... has C channels, the layer expects in" for a 4-D x.
  void check_input(const Tensor& x) const;

  Conv2dOptions opt_;
  Param weight_, bias_;
  Tensor x_;  // saved input
  Tensor y_;  // saved output (fused ReLU only)
};

#if FRCNN_WITH_CUDA
// cuDNN implementations (conv2d_cudnn_cuda.cpp); same contracts as kernels/conv2d.h, in
// the context's precision: fp32 (FMA kernels), tf32 (cuDNN's math type, never a
// down-conversion), bf16 (BF16 x, w, y with FP32 accumulation: x and dL/dy converted per
// call, w may be handed in BF16 already; y and dL/dx come back widened to F32, rounded to
// BF16 as cuDNN writes them; dL/dw is computed in BF16 and added to the FP32 gradient; the
// bias and its gradient in FP32 except that the forward adds the bias in BF16).
// Without FRCNN_WITH_CUDNN they throw "built without cuDNN".
Tensor conv2d_forward_cudnn(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, int64_t pad,
                            int64_t stride);
Tensor conv2d_backward_data_cudnn(Context& ctx, const Tensor& gy, const Tensor& w, const Shape& x_shape, int64_t pad,
                                  int64_t stride);
void conv2d_backward_weight_cudnn(Context& ctx, const Tensor& x, const Tensor& gy, Tensor& gw, Tensor& gb, int64_t pad,
                                  int64_t stride);
#endif

}  // namespace frcnn
