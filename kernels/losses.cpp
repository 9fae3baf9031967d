// Dispatcher for losses.h.
#include "kernels/losses.h"

#include <stdexcept>
#include <string>

#include "kernels/dispatch.h"

#if FRCNN_WITH_CUDA
#include "kernels/losses_cuda.h"
#endif

namespace frcnn {

LossResult softmax_cross_entropy(Context& ctx, const Tensor& logits, const Tensor& labels) {
  logits.check_dtype(DType::F32, "softmax_cross_entropy: logits");
  labels.check_dtype(DType::I32, "softmax_cross_entropy: labels");
  if (logits.ndim() != 2) throw std::invalid_argument("softmax_cross_entropy: logits must be (N, C), got " + shape_str(logits.shape()));
  const int64_t N = logits.size(0), C = logits.size(1);
  if (C < 1) throw std::invalid_argument("softmax_cross_entropy: C must be >= 1");
  labels.check_shape({N}, "softmax_cross_entropy: labels");
  kernels_detail::check_device(ctx, {&logits, &labels}, "softmax_cross_entropy");
  LossResult r;
  r.grad = Tensor::empty(logits.shape(), DType::F32, logits.device(), ctx.stream());
  if (N == 0) return r;
  if (logits.is_cuda()) {
#if FRCNN_WITH_CUDA
    r.loss = softmax_cross_entropy_cuda(logits.data<float>(), labels.data<int32_t>(), r.grad.data<float>(), N, C,
                                        ctx.stream());
#endif
  } else {
    r.loss = softmax_cross_entropy_cpu(logits.data<float>(), labels.data<int32_t>(), r.grad.data<float>(), N, C);
  }
  return r;
}

LossResult smooth_l1(Context& ctx, const Tensor& pred, const Tensor& target, const Tensor& inside_w,
                     const Tensor& outside_w, float sigma, float normalizer) {
  pred.check_dtype(DType::F32, "smooth_l1: pred");
  target.check_dtype(DType::F32, "smooth_l1: target");
  target.check_shape(pred.shape(), "smooth_l1: target");
  if (inside_w.defined()) {
    inside_w.check_dtype(DType::F32, "smooth_l1: inside_w");
    inside_w.check_shape(pred.shape(), "smooth_l1: inside_w");
  }
  if (outside_w.defined()) {
    outside_w.check_dtype(DType::F32, "smooth_l1: outside_w");
    outside_w.check_shape(pred.shape(), "smooth_l1: outside_w");
  }
  if (!(sigma > 0.f)) throw std::invalid_argument("smooth_l1: sigma must be > 0, got " + std::to_string(sigma));
  if (!(normalizer > 0.f))
    throw std::invalid_argument("smooth_l1: normalizer must be > 0, got " + std::to_string(normalizer));
  kernels_detail::check_device(ctx, {&pred, &target, &inside_w, &outside_w}, "smooth_l1");
  LossResult r;
  r.grad = Tensor::empty(pred.shape(), DType::F32, pred.device(), ctx.stream());
  if (pred.numel() == 0) return r;
  const float* iw = inside_w.defined() ? inside_w.data<float>() : nullptr;
  const float* ow = outside_w.defined() ? outside_w.data<float>() : nullptr;
  if (pred.is_cuda()) {
#if FRCNN_WITH_CUDA
    r.loss = smooth_l1_cuda(pred.data<float>(), target.data<float>(), iw, ow, r.grad.data<float>(), pred.numel(), sigma,
                            normalizer, ctx.stream());
#endif
  } else {
    r.loss = smooth_l1_cpu(pred.data<float>(), target.data<float>(), iw, ow, r.grad.data<float>(), pred.numel(), sigma,
                           normalizer);
  }
  return r;
}

Tensor softmax(Context& ctx, const Tensor& logits) {
  logits.check_dtype(DType::F32, "softmax: logits");
  if (logits.ndim() != 2) throw std::invalid_argument("softmax: logits must be (N, C), got " + shape_str(logits.shape()));
  kernels_detail::check_device(ctx, {&logits}, "softmax");
  Tensor p = Tensor::empty(logits.shape(), DType::F32, logits.device(), ctx.stream());
  const int64_t N = logits.size(0), C = logits.size(1);
  if (N == 0 || C == 0) return p;
  if (logits.is_cuda()) {
#if FRCNN_WITH_CUDA
    softmax_cuda(logits.data<float>(), p.data<float>(), N, C, ctx.stream());
#endif
  } else {
    softmax_cpu(logits.data<float>(), p.data<float>(), N, C);
  }
  return p;
}

}  // namespace frcnn
