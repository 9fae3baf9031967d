// Dispatch and shape checks of rpn_ops.h.
#include "kernels/rpn_ops.h"

#include "kernels/dispatch.h"

#if FRCNN_WITH_CUDA
#include "kernels/rpn_ops_cuda.h"
#endif

namespace frcnn {

void rpn_foreground_probs_cpu(const float* logits, float* out, int A, int HW);
void boxes_to_rois_cpu(const float* boxes, float* rois, int64_t P, int batch_index);

using namespace kernels_detail;

Tensor rpn_foreground_probs(Context& ctx, const Tensor& logits) {
  const char* op = "rpn_foreground_probs";
  Tensor l = logits;
  if (l.ndim() == 4) {
    require(l.size(0) == 1, op, "expects one image, got logits " + desc(l));
    l = l.reshape({l.size(1), l.size(2), l.size(3)});
  }
  require(l.ndim() == 3 && l.dtype() == DType::F32 && l.size(0) % 2 == 0, op,
          "logits must be F32 (2A, H, W), got " + desc(logits));
  const Device dev = common_device(op, {&l});
  const int A = static_cast<int>(l.size(0) / 2), HW = static_cast<int>(l.size(1) * l.size(2));
  Tensor out = Tensor::empty({A, l.size(1), l.size(2)}, DType::F32, dev, ctx.stream());
  if (out.numel() == 0) return out;
  if (dev.is_cuda()) {
#if FRCNN_WITH_CUDA
    rpn_foreground_probs_cuda(l.data<float>(), out.data<float>(), A, HW, ctx.stream());
#endif
  } else {
    rpn_foreground_probs_cpu(l.data<float>(), out.data<float>(), A, HW);
  }
  return out;
}

Tensor boxes_to_rois(Context& ctx, const Tensor& boxes, int batch_index) {
  const char* op = "boxes_to_rois";
  require_boxes(op, boxes, "boxes");
  require(batch_index >= 0, op, "batch_index must be >= 0");
  const Device dev = common_device(op, {&boxes});
  const int64_t P = boxes.size(0);
  Tensor rois = Tensor::empty({P, 5}, DType::F32, dev, ctx.stream());
  if (P == 0) return rois;
  if (dev.is_cuda()) {
#if FRCNN_WITH_CUDA
    boxes_to_rois_cuda(boxes.data<float>(), rois.data<float>(), P, batch_index, ctx.stream());
#endif
  } else {
    boxes_to_rois_cpu(boxes.data<float>(), rois.data<float>(), P, batch_index);
  }
  return rois;
}

}  // namespace frcnn
