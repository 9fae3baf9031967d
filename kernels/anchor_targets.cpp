// Dispatch and argument checks for anchor_targets.h.
#include "kernels/anchor_targets.h"

#include "kernels/dispatch.h"

#if FRCNN_WITH_CUDA
#include "kernels/anchor_targets_cuda.h"
#endif

namespace frcnn {

using namespace kernels_detail;

void anchor_targets_cpu(const float* anchors, int K, const float* gt, int G, float img_h, float img_w,
                        const AnchorTargetConfig& cfg, RngKey key, int32_t* labels, float* targets, float* inside_w,
                        float* outside_w);

AnchorTargets anchor_targets(Context& ctx, const Tensor& anchors, const Tensor& gt_boxes, float img_h, float img_w,
                             const AnchorTargetConfig& cfg, RngKey key) {
  const char* op = "anchor_targets";
  require_boxes(op, anchors, "anchors");
  require_boxes(op, gt_boxes, "gt_boxes");
  require(img_h > 0 && img_w > 0, op, "image size must be positive");
  require(cfg.batch >= 0 && cfg.fg_fraction >= 0 && cfg.fg_fraction <= 1, op, "batch/fg_fraction out of range");
  require(anchors.size(0) < (int64_t(1) << 31), op, "too many anchors");
  [[maybe_unused]] Device dev = common_device(op, {&anchors, &gt_boxes});
  const int K = int(anchors.size(0)), G = int(gt_boxes.size(0));
  Stream s = ctx.stream();
  AnchorTargets t{Tensor::empty({K}, DType::I32, dev, s), Tensor::zeros({K, 4}, DType::F32, dev, s),
                  Tensor::zeros({K, 4}, DType::F32, dev, s), Tensor::zeros({K, 4}, DType::F32, dev, s)};
  if (K == 0) return t;
#if FRCNN_WITH_CUDA
  if (dev.is_cuda()) {
    anchor_targets_cuda(anchors.data<float>(), K, gt_boxes.data<float>(), G, img_h, img_w, cfg, key,
                        t.labels.data<int32_t>(), t.bbox_targets.data<float>(), t.bbox_inside_weights.data<float>(),
                        t.bbox_outside_weights.data<float>(), dev, s);
    return t;
  }
#endif
  anchor_targets_cpu(anchors.data<float>(), K, gt_boxes.data<float>(), G, img_h, img_w, cfg, key,
                     t.labels.data<int32_t>(), t.bbox_targets.data<float>(), t.bbox_inside_weights.data<float>(),
                     t.bbox_outside_weights.data<float>());
  return t;
}

}  // namespace frcnn
