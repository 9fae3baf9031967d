// Dispatch and argument checks for proposals.h.
#include "kernels/proposals.h"

#include "kernels/dispatch.h"

#if FRCNN_WITH_CUDA
#include "kernels/proposals_cuda.h"
#endif

namespace frcnn {

using namespace kernels_detail;

Proposals proposal_layer_cpu(const float* scores, const float* deltas, const float* anchors, int A, int HW,
                             float img_h, float img_w, float min_size, const ProposalConfig& cfg);

Proposals proposal_layer(Context& ctx, const Tensor& scores, const Tensor& deltas, const Tensor& anchors, float img_h,
                         float img_w, float scale, const ProposalConfig& cfg) {
  const char* op = "proposal_layer";
  require(scores.defined() && scores.dtype() == DType::F32 && scores.ndim() == 3, op,
          "scores must be F32 (A, H, W), got " + desc(scores));
  const int64_t A = scores.size(0), H = scores.size(1), W = scores.size(2);
  require(deltas.defined() && deltas.dtype() == DType::F32 && deltas.shape() == Shape{4 * A, H, W}, op,
          "deltas must be F32 (4A, H, W) = " + shape_str({4 * A, H, W}) + ", got " + desc(deltas));
  require_boxes(op, anchors, "anchors");
  require(anchors.size(0) == A * H * W, op,
          "anchors must be (H*W*A, 4) = (" + std::to_string(A * H * W) + ", 4), got " + desc(anchors));
  require(img_h > 0 && img_w > 0 && scale > 0, op, "image size and scale must be positive");
  require(cfg.nms_thresh == cfg.nms_thresh, op, "nms_thresh is NaN");
  require(A * H * W < (int64_t(1) << 30), op, "too many anchors");
  [[maybe_unused]] Device dev = common_device(op, {&scores, &deltas, &anchors});
  const float min_size = cfg.min_size * scale;
#if FRCNN_WITH_CUDA
  if (dev.is_cuda())
    return proposal_layer_cuda(scores.data<float>(), deltas.data<float>(), anchors.data<float>(), int(A), int(H * W),
                               img_h, img_w, min_size, cfg, dev, ctx.stream());
#endif
  return proposal_layer_cpu(scores.data<float>(), deltas.data<float>(), anchors.data<float>(), int(A), int(H * W),
                            img_h, img_w, min_size, cfg);
}

}  // namespace frcnn
