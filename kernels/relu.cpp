// Dispatcher for relu.h: the device comes from the tensors.
#include "kernels/relu.h"

#include <stdexcept>

#include "kernels/dispatch.h"

#if FRCNN_WITH_CUDA
#include "kernels/relu_cuda.h"
#endif

namespace frcnn {

Tensor relu_forward(Context& ctx, const Tensor& x, bool inplace) {
  x.check_dtype(DType::F32, "relu_forward: x");
  kernels_detail::check_device(ctx, {&x}, "relu_forward");
  Tensor y = inplace ? x : Tensor::empty(x.shape(), DType::F32, x.device(), ctx.stream());
  if (x.numel() == 0) return y;
  if (x.is_cuda()) {
#if FRCNN_WITH_CUDA
    relu_forward_cuda(x.data<float>(), y.data<float>(), x.numel(), ctx.stream());
#endif
  } else {
    relu_forward_cpu(x.data<float>(), y.data<float>(), x.numel());
  }
  return y;
}

Tensor relu_backward(Context& ctx, const Tensor& y, const Tensor& gy, bool inplace_grad) {
  y.check_dtype(DType::F32, "relu_backward: y");
  gy.check_dtype(DType::F32, "relu_backward: grad_out");
  gy.check_shape(y.shape(), "relu_backward: grad_out");
  kernels_detail::check_device(ctx, {&y, &gy}, "relu_backward");
  Tensor gx = inplace_grad ? gy : Tensor::empty(y.shape(), DType::F32, y.device(), ctx.stream());
  if (y.numel() == 0) return gx;
  if (y.is_cuda()) {
#if FRCNN_WITH_CUDA
    relu_backward_cuda(y.data<float>(), gy.data<float>(), gx.data<float>(), y.numel(), ctx.stream());
#endif
  } else {
    relu_backward_cpu(y.data<float>(), gy.data<float>(), gx.data<float>(), y.numel());
  }
  return gx;
}

}  // namespace frcnn
