#include "layers/tensor_ops.h"

#include <stdexcept>

namespace frcnn {

void tensor_axpy(Context& ctx, float a, const Tensor& x, Tensor& y) {
  x.check_dtype(DType::F32, "tensor_axpy: x");
  y.check_dtype(DType::F32, "tensor_axpy: y");
  if (x.numel() != y.numel())
    throw std::invalid_argument("tensor_axpy: x " + shape_str(x.shape()) + " and y " + shape_str(y.shape()) +
                                " differ in size");
  if (x.device() != y.device() || x.device() != ctx.device())
    throw std::invalid_argument("tensor_axpy: mixed devices (" + x.device().str() + ", " + y.device().str() +
                                ", context " + ctx.device().str() + ")");
  if (x.numel() == 0) return;
  if (x.is_cuda()) {
#if FRCNN_WITH_CUDA
    tensor_axpy_cuda(a, x.data<float>(), y.data<float>(), x.numel(), ctx.stream());
    return;
#else
    throw std::runtime_error("tensor_axpy: CUDA tensor, but frcnn was built without CUDA");
#endif
  }
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) yp[i] += a * xp[i];
}

}  // namespace frcnn
