// Dispatcher for axpy.h.
#include "kernels/axpy.h"

#include <stdexcept>

#include "kernels/dispatch.h"

#if FRCNN_WITH_CUDA
#include "kernels/axpy_cuda.h"
#endif

namespace frcnn {

void tensor_axpy(Context& ctx, float a, const Tensor& x, Tensor& y) {
  x.check_dtype(DType::F32, "tensor_axpy: x");
  y.check_dtype(DType::F32, "tensor_axpy: y");
  if (x.numel() != y.numel())
    throw std::invalid_argument("tensor_axpy: x " + shape_str(x.shape()) + " and y " + shape_str(y.shape()) +
                                " differ in size");
  kernels_detail::check_device(ctx, {&x, &y}, "tensor_axpy");
  if (x.numel() == 0) return;
  if (ctx.is_cuda()) {
#if FRCNN_WITH_CUDA
    axpy_cuda(a, x.data<float>(), y.data<float>(), x.numel(), ctx.stream());
#endif
    return;
  }
  axpy_cpu(a, x.data<float>(), y.data<float>(), x.numel());
}

Tensor tensor_scaled(Context& ctx, float a, const Tensor& x) {
  if (a == 1.f) return x;
  Tensor out = Tensor::zeros(x.shape(), DType::F32, x.device(), ctx.stream());
  tensor_axpy(ctx, a, x, out);
  return out;
}

}  // namespace frcnn
