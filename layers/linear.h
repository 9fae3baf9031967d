// Fully connected layer: y (N, out) = x (N, in) W^T + b, W: (out, in) (torch layout).
// x may also be (N, C, H, W) with C*H*W = in (pool5 -> fc6); dL/dx comes back in x's
// shape. CPU: OpenBLAS cblas_sgemm; CUDA: cuBLAS (Context::cublas()). Precision is the
// context's math mode (engine/math_mode.h): fp32 (default) sgemm with CUBLAS_DEFAULT_MATH;
// tf32 sgemm with CUBLAS_TF32_TENSOR_OP_MATH; bf16 cublasGemmEx on BF16 copies of the two
// operands of each product, FP32 output and compute type: the activations' converted per
// call, the weight's once per change of the weight (layers/param_lowp.h). The CPU path
// multiplies the operands rounded the same way (kernels/precision.h). Bias and its
// gradient are FP32 in every mode. Parameter grads accumulate (+=).
#pragma once
#include "layers/layer.h"

namespace frcnn {

class Linear : public Layer {
 public:
  // Params "<name>.weight" (out, in) and "<name>.bias" (out), created zero on the CPU;
  // initialise with layers/init.h and move with to(ctx). Bias: lr_mult 2, decay_mult 0.
  Linear(std::string name, int64_t in, int64_t out, bool bias = true);
  Tensor forward(Context& ctx, const Tensor& x) override;
  Tensor backward(Context& ctx, const Tensor& grad_out) override;
  std::vector<Param*> params() override;
  void to(Context& ctx) override;
  Param& weight() { return weight_; }
  Param& bias() { return bias_; }

 private:
  int64_t in_, out_;
  bool has_bias_;
  Param weight_, bias_;
  Tensor x_;      // saved input, flattened (N, in)
  Shape x_shape_; // original input shape
  Tensor ones_;   // (N) of ones on the GPU for the cuBLAS bias add / bias grad
};

#if FRCNN_WITH_CUDA
// cuBLAS halves (linear_cuda.cpp). Row-major buffers as documented above; the GEMM
// operands x, w, gy are F32 or, with bf16, BF16 (b, ones, y, gx, gw, gb and gy32 are F32).
void linear_forward_cublas(Context& ctx, const void* x, const void* w, bool bf16, const float* b, const float* ones,
                           float* y, int64_t N, int64_t in, int64_t out);
void linear_backward_cublas(Context& ctx, const void* x, const void* w, const void* gy, bool bf16, const float* gy32,
                            const float* ones, float* gx, float* gw, float* gb, int64_t N, int64_t in, int64_t out);
#endif

}  // namespace frcnn
