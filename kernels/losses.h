// Training losses (CPU and CUDA; the device comes from the tensors). Each returns the
// scalar loss (copied to the host, so a CUDA call synchronises its stream) and the
// gradient of the loss with respect to its first input, same shape as that input.
// Deterministic on both devices: the CUDA reductions run in one block in a fixed order.
#pragma once
#include "engine/context.h"
#include "engine/tensor.h"

namespace frcnn {

struct LossResult {
  float loss = 0.f;
  Tensor grad;  // dLoss/dinput, same shape as the logits / predictions
};

// logits: (N, C) F32; labels: (N) I32 with values in [0, C) or -1 (ignored).
// loss = mean over non-ignored rows of -log softmax(logits)[label]. With no
// non-ignored row, loss = 0 and grad = 0 (documented, not an error). A label outside
// [-1, C) throws std::invalid_argument.
LossResult softmax_cross_entropy(Context& ctx, const Tensor& logits, const Tensor& labels);

// Fast R-CNN smooth-L1 (pred, target, inside_w, outside_w all the same shape, any rank):
//   loss = sum(outside_w * smoothL1(inside_w * (pred - target))) / normalizer
//   smoothL1(x) = 0.5 (sigma x)^2 if |x| < 1/sigma^2 else |x| - 0.5/sigma^2
// inside_w / outside_w may be undefined Tensors, meaning all ones. sigma > 0,
// normalizer > 0 (else std::invalid_argument).
LossResult smooth_l1(Context& ctx, const Tensor& pred, const Tensor& target, const Tensor& inside_w,
                     const Tensor& outside_w, float sigma, float normalizer);

// Row-wise softmax (test time): logits (N, C) -> probabilities (N, C).
Tensor softmax(Context& ctx, const Tensor& logits);

// Raw launchers. CE: grad (N, C) written; returns the loss; throws on a bad label.
float softmax_cross_entropy_cpu(const float* logits, const int32_t* labels, float* grad, int64_t N, int64_t C);
float smooth_l1_cpu(const float* pred, const float* target, const float* in_w, const float* out_w, float* grad,
                    int64_t n, float sigma, float normalizer);
void softmax_cpu(const float* logits, float* probs, int64_t N, int64_t C);

}  // namespace frcnn
