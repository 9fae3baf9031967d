// Dispatcher for maxpool2d.h.
#include "kernels/maxpool2d.h"

#include <stdexcept>
#include <string>

#include "kernels/dispatch.h"
#include "kernels/precision.h"

#if FRCNN_WITH_CUDA
#include "kernels/maxpool2d_cuda.h"
#endif

namespace frcnn {

MaxPool2dResult maxpool2d_forward(Context& ctx, const Tensor& x, int k, int s) {
  if (x.dtype() == DType::BF16) {  // pooled in F32 and rounded back: exact (see maxpool2d.h)
    MaxPool2dResult r = maxpool2d_forward(ctx, bf16_to_f32(ctx, x), k, s);
    r.y = to_bf16(ctx, r.y);
    return r;
  }
  x.check_dtype(DType::F32, "maxpool2d_forward: x");
  if (x.ndim() != 4) throw std::invalid_argument("maxpool2d_forward: x must be (N, C, H, W), got " + shape_str(x.shape()));
  if (k < 1 || s < 1) throw std::invalid_argument("maxpool2d_forward: kernel and stride must be >= 1");
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  if (H < 1 || W < 1) throw std::invalid_argument("maxpool2d_forward: empty spatial size " + shape_str(x.shape()));
  if (H * W > INT32_MAX) throw std::invalid_argument("maxpool2d_forward: plane too large for I32 argmax");
  kernels_detail::check_device(ctx, {&x}, "maxpool2d_forward");
  const int64_t Ho = maxpool2d_out_size(H, k, s), Wo = maxpool2d_out_size(W, k, s);
  MaxPool2dResult r;
  r.y = Tensor::empty({N, C, Ho, Wo}, DType::F32, x.device(), ctx.stream());
  r.argmax = Tensor::empty({N, C, Ho, Wo}, DType::I32, x.device(), ctx.stream());
  if (N * C == 0) return r;
  if (x.is_cuda()) {
#if FRCNN_WITH_CUDA
    maxpool2d_forward_cuda(x.data<float>(), r.y.data<float>(), r.argmax.data<int32_t>(), N * C, H, W, Ho, Wo, k, s,
                           ctx.stream());
#endif
  } else {
    maxpool2d_forward_cpu(x.data<float>(), r.y.data<float>(), r.argmax.data<int32_t>(), N * C, H, W, Ho, Wo, k, s);
  }
  return r;
}

Tensor maxpool2d_backward(Context& ctx, const Tensor& grad_out, const Tensor& argmax, const Shape& x_shape, int k,
                          int s) {
  grad_out.check_dtype(DType::F32, "maxpool2d_backward: grad_out");
  argmax.check_dtype(DType::I32, "maxpool2d_backward: argmax");
  if (x_shape.size() != 4) throw std::invalid_argument("maxpool2d_backward: x_shape must be (N, C, H, W)");
  const int64_t N = x_shape[0], C = x_shape[1], H = x_shape[2], W = x_shape[3];
  const int64_t Ho = maxpool2d_out_size(H, k, s), Wo = maxpool2d_out_size(W, k, s);
  grad_out.check_shape({N, C, Ho, Wo}, "maxpool2d_backward: grad_out");
  argmax.check_shape({N, C, Ho, Wo}, "maxpool2d_backward: argmax");
  kernels_detail::check_device(ctx, {&grad_out, &argmax}, "maxpool2d_backward");
  Tensor gx = Tensor::empty(x_shape, DType::F32, grad_out.device(), ctx.stream());
  if (gx.numel() == 0) return gx;
  if (grad_out.is_cuda()) {
#if FRCNN_WITH_CUDA
    maxpool2d_backward_cuda(grad_out.data<float>(), argmax.data<int32_t>(), gx.data<float>(), N * C, H, W, Ho, Wo, k, s,
                            ctx.stream());
#endif
  } else {
    maxpool2d_backward_cpu(grad_out.data<float>(), argmax.data<int32_t>(), gx.data<float>(), N * C, H, W, Ho, Wo, k, s);
  }
  return gx;
}

}  // namespace frcnn
