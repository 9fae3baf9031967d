// Dispatcher for sgd_update.h.
#include "kernels/sgd_update.h"

#include "kernels/dispatch.h"

#if FRCNN_WITH_CUDA
#include "kernels/sgd_update_cuda.h"
#endif

namespace frcnn {

void sgd_update(Context& ctx, Tensor& w, Tensor& v, const Tensor& g, float lr_eff, float momentum, float decay_eff) {
  const char* op = "sgd_update";
  w.check_dtype(DType::F32, "sgd_update: weights");
  v.check_dtype(DType::F32, "sgd_update: momentum");
  g.check_dtype(DType::F32, "sgd_update: gradient");
  v.check_shape(w.shape(), "sgd_update: momentum");
  g.check_shape(w.shape(), "sgd_update: gradient");
  kernels_detail::check_device(ctx, {&w, &v, &g}, op);
  const int64_t n = w.numel();
  if (n == 0) return;
  if (ctx.is_cuda()) {
#if FRCNN_WITH_CUDA
    sgd_update_cuda(w.data<float>(), v.data<float>(), g.data<float>(), n, lr_eff, momentum, decay_eff, ctx.stream());
#endif
    return;
  }
  sgd_update_cpu(w.data<float>(), v.data<float>(), g.data<float>(), n, lr_eff, momentum, decay_eff);
}

}  // namespace frcnn
