// Dispatcher for mma_tile.h.
#include "kernels/mma_tile.h"

#include "kernels/dispatch.h"

#if FRCNN_WITH_CUDA
#include "kernels/mma_tile_cuda.h"
#endif

namespace frcnn {

Tensor mma_tile(Context& ctx, MmaFormat format, const Tensor& a, const Tensor& b, const Tensor& c) {
  const int64_t K = format == MmaFormat::Tf32 ? 8 : 16;
  for (const Tensor* t : {&a, &b, &c}) t->check_dtype(DType::F32, "mma_tile");
  kernels_detail::require(a.shape() == Shape{16, K} && b.shape() == Shape{K, 8} && c.shape() == Shape{16, 8},
                          "mma_tile", "needs a (16, " + std::to_string(K) + "), b (" + std::to_string(K) +
                                          ", 8), c (16, 8); got " + kernels_detail::desc(a) + ", " +
                                          kernels_detail::desc(b) + ", " + kernels_detail::desc(c));
  kernels_detail::check_device(ctx, {&a, &b, &c}, "mma_tile");
  Tensor d = Tensor::empty({16, 8}, DType::F32, ctx.device(), ctx.stream());
  if (ctx.is_cuda()) {
#if FRCNN_WITH_CUDA
    mma_tile_cuda(format, a.data<float>(), b.data<float>(), c.data<float>(), d.data<float>(), ctx.device(),
                  ctx.stream());
#endif
    return d;
  }
  mma_tile_cpu(format, a.data<float>(), b.data<float>(), c.data<float>(), d.data<float>());
  return d;
}

}  // namespace frcnn
