// Dispatcher for dropout.h.
#include "kernels/dropout.h"

#include <stdexcept>
#include <string>

#include "kernels/dispatch.h"

#if FRCNN_WITH_CUDA
#include "kernels/dropout_cuda.h"
#endif

namespace frcnn {

Tensor dropout_apply(Context& ctx, const Tensor& x, float p, RngKey key) {
  x.check_dtype(DType::F32, "dropout: x");
  if (!(p >= 0.f && p < 1.f)) throw std::invalid_argument("dropout: p must be in [0, 1), got " + std::to_string(p));
  kernels_detail::check_device(ctx, {&x}, "dropout");
  Tensor y = Tensor::empty(x.shape(), DType::F32, x.device(), ctx.stream());
  if (x.numel() == 0) return y;
  if (x.is_cuda()) {
#if FRCNN_WITH_CUDA
    dropout_apply_cuda(x.data<float>(), y.data<float>(), x.numel(), p, key, ctx.stream());
#endif
  } else {
    dropout_apply_cpu(x.data<float>(), y.data<float>(), x.numel(), p, key);
  }
  return y;
}

}  // namespace frcnn
