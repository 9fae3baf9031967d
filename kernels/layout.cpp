// Dispatch for layout.h.
#include "kernels/layout.h"

#include "kernels/dispatch.h"

#if FRCNN_WITH_CUDA
#include "kernels/layout_cuda.h"
#endif

namespace frcnn {

using namespace kernels_detail;

void layout_permute_cpu(const float* in, int64_t N, int64_t C, int64_t H, int64_t W, bool to_nhwc, float* out);

static Tensor permute(Context& ctx, const Tensor& x, bool to_nhwc, const char* op) {
  require(x.defined() && x.dtype() == DType::F32 && x.ndim() == 4, op, "expected an F32 4-d tensor, got " + desc(x));
  [[maybe_unused]] Device dev = common_device(op, {&x});
  // logical (N, C, H, W) sizes
  const int64_t N = x.size(0), C = to_nhwc ? x.size(1) : x.size(3), H = to_nhwc ? x.size(2) : x.size(1),
                W = to_nhwc ? x.size(3) : x.size(2);
  Tensor out = Tensor::empty(to_nhwc ? Shape{N, H, W, C} : Shape{N, C, H, W}, DType::F32, dev, ctx.stream());
  if (out.numel() == 0) return out;
#if FRCNN_WITH_CUDA
  if (dev.is_cuda()) {
    layout_permute_cuda(x.data<float>(), N, C, H, W, to_nhwc, out.data<float>(), ctx.stream());
    return out;
  }
#endif
  layout_permute_cpu(x.data<float>(), N, C, H, W, to_nhwc, out.data<float>());
  return out;
}

Tensor nchw_to_nhwc(Context& ctx, const Tensor& x) { return permute(ctx, x, true, "nchw_to_nhwc"); }
Tensor nhwc_to_nchw(Context& ctx, const Tensor& x) { return permute(ctx, x, false, "nhwc_to_nchw"); }

}  // namespace frcnn
