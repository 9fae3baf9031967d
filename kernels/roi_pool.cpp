// Dispatch and argument checks for roi_pool.h.
#include "kernels/roi_pool.h"

#include "kernels/dispatch.h"
#include "kernels/precision.h"

#if FRCNN_WITH_CUDA
#include "kernels/roi_pool_cuda.h"
#endif

namespace frcnn {

using namespace kernels_detail;

void roi_pool_forward_cpu(const float* features, int N, int C, int H, int W, const float* rois, int R, int PH,
                          int PW, float scale, float* out, int32_t* argmax);
void roi_pool_backward_cpu(const float* grad_out, const int32_t* argmax, const float* rois, int R, int N, int C,
                           int H, int W, int PH, int PW, float* grad);

static void check_rois(const char* op, const Tensor& rois) {
  require(rois.defined() && rois.dtype() == DType::F32 && rois.ndim() == 2 && rois.size(1) == 5, op,
          "rois must be F32 (R, 5) = (batch_index, x1, y1, x2, y2), got " + desc(rois));
}

RoiPoolResult roi_pool_forward(Context& ctx, const Tensor& features, const Tensor& rois, int pooled_h, int pooled_w,
                               float spatial_scale) {
  const char* op = "roi_pool_forward";
  if (features.defined() && features.dtype() == DType::BF16)  // widened (exact); the pooling is FP32
    return roi_pool_forward(ctx, bf16_to_f32(ctx, features), rois, pooled_h, pooled_w, spatial_scale);
  require(features.defined() && features.dtype() == DType::F32 && features.ndim() == 4, op,
          "features must be F32 or BF16 (N, C, H, W), got " + desc(features));
  check_rois(op, rois);
  require(pooled_h > 0 && pooled_w > 0, op, "pooled size must be positive");
  require(spatial_scale > 0, op, "spatial_scale must be positive");
  require(features.numel() < (int64_t(1) << 31), op, "features too large for 32-bit indexing");
  [[maybe_unused]] Device dev = common_device(op, {&features, &rois});
  const int N = int(features.size(0)), C = int(features.size(1)), H = int(features.size(2)), W = int(features.size(3));
  const int R = int(rois.size(0));
  RoiPoolResult res{Tensor::empty({R, C, pooled_h, pooled_w}, DType::F32, dev, ctx.stream()),
                    Tensor::empty({R, C, pooled_h, pooled_w}, DType::I32, dev, ctx.stream())};
  if (res.output.numel() == 0) return res;
#if FRCNN_WITH_CUDA
  if (dev.is_cuda()) {
    roi_pool_forward_cuda(features.data<float>(), N, C, H, W, rois.data<float>(), R, pooled_h, pooled_w,
                          spatial_scale, res.output.data<float>(), res.argmax.data<int32_t>(), ctx.stream());
    return res;
  }
#endif
  roi_pool_forward_cpu(features.data<float>(), N, C, H, W, rois.data<float>(), R, pooled_h, pooled_w, spatial_scale,
                       res.output.data<float>(), res.argmax.data<int32_t>());
  return res;
}

Tensor roi_pool_backward(Context& ctx, const Tensor& grad_out, const Tensor& argmax, const Tensor& rois, int N, int C,
                         int H, int W, float spatial_scale) {
  const char* op = "roi_pool_backward";
  check_rois(op, rois);
  require(N >= 0 && C >= 0 && H >= 0 && W >= 0, op, "negative feature shape");
  require(grad_out.defined() && grad_out.dtype() == DType::F32 && grad_out.ndim() == 4 &&
              grad_out.size(0) == rois.size(0) && grad_out.size(1) == C,
          op, "grad_out must be F32 (R, C, ph, pw) with R = " + std::to_string(rois.size(0)) + ", C = " +
                  std::to_string(C) + ", got " + desc(grad_out));
  require(argmax.defined() && argmax.dtype() == DType::I32 && argmax.shape() == grad_out.shape(), op,
          "argmax must be I32 with grad_out's shape " + shape_str(grad_out.shape()) + ", got " + desc(argmax));
  // A 0 x 0 pooled grid has no bins to route gradients through (and forward refuses it).
  require(grad_out.size(2) > 0 && grad_out.size(3) > 0, op,
          "pooled size must be positive, got grad_out " + shape_str(grad_out.shape()));
  require(spatial_scale > 0, op, "spatial_scale must be positive");
  require(int64_t(N) * C * H * W < (int64_t(1) << 31), op, "features too large for 32-bit indexing");
  [[maybe_unused]] Device dev = common_device(op, {&grad_out, &argmax, &rois});
  const int R = int(rois.size(0)), PH = int(grad_out.size(2)), PW = int(grad_out.size(3));
  Tensor grad = Tensor::empty({N, C, H, W}, DType::F32, dev, ctx.stream());
  if (grad.numel() == 0) return grad;
#if FRCNN_WITH_CUDA
  if (dev.is_cuda()) {
    roi_pool_backward_cuda(grad_out.data<float>(), argmax.data<int32_t>(), rois.data<float>(), R, N, C, H, W, PH, PW,
                           spatial_scale, grad.data<float>(), dev, ctx.stream());
    return grad;
  }
#endif
  roi_pool_backward_cpu(grad_out.data<float>(), argmax.data<int32_t>(), rois.data<float>(), R, N, C, H, W, PH, PW,
                        grad.data<float>());
  return grad;
}

}  // namespace frcnn
