// Dispatch and argument checks for proposals.h.
#include "kernels/proposals.h"

#include <algorithm>

#include "kernels/dispatch.h"

#if FRCNN_WITH_CUDA
#include "kernels/proposals_cuda.h"
#endif

namespace frcnn {

using namespace kernels_detail;

Proposals proposal_layer_cpu(const float* scores, const float* deltas, const float* anchors, int A, int HW,
                             float img_h, float img_w, float min_size, const ProposalConfig& cfg);

namespace {

// The argument checks both forms make (scores (A, H, W), deltas (4A, H, W), anchors (HWA, 4)).
void check_inputs(const char* op, const Tensor& scores, const Tensor& deltas, const Tensor& anchors, float img_h,
                  float img_w, const ProposalConfig& cfg) {
  require(scores.defined() && scores.dtype() == DType::F32 && scores.ndim() == 3, op,
          "scores must be F32 (A, H, W), got " + desc(scores));
  const int64_t A = scores.size(0), H = scores.size(1), W = scores.size(2);
  require(deltas.defined() && deltas.dtype() == DType::F32 && deltas.shape() == Shape{4 * A, H, W}, op,
          "deltas must be F32 (4A, H, W) = " + shape_str({4 * A, H, W}) + ", got " + desc(deltas));
  require_boxes(op, anchors, "anchors");
  require(anchors.size(0) == A * H * W, op,
          "anchors must be (H*W*A, 4) = (" + std::to_string(A * H * W) + ", 4), got " + desc(anchors));
  require(img_h > 0 && img_w > 0, op, "image size must be positive");
  require(cfg.nms_thresh == cfg.nms_thresh, op, "nms_thresh is NaN");
  require(A * H * W < (int64_t(1) << 30), op, "too many anchors");
}

}  // namespace

int64_t proposal_capacity(int64_t num_anchors, const ProposalConfig& cfg) {
  int64_t cap = num_anchors;
  if (cfg.pre_nms_top_n > 0) cap = std::min<int64_t>(cap, cfg.pre_nms_top_n);
  if (cfg.post_nms_top_n > 0) cap = std::min<int64_t>(cap, cfg.post_nms_top_n);
  return cap;
}

Proposals proposal_layer(Context& ctx, const Tensor& scores, const Tensor& deltas, const Tensor& anchors, float img_h,
                         float img_w, float scale, const ProposalConfig& cfg) {
  const char* op = "proposal_layer";
  check_inputs(op, scores, deltas, anchors, img_h, img_w, cfg);
  require(scale > 0, op, "scale must be positive");
  const int64_t A = scores.size(0), H = scores.size(1), W = scores.size(2);
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

FixedProposals proposal_layer_fixed(Context& ctx, const Tensor& scores, const Tensor& deltas, const Tensor& anchors,
                                    float img_h, float img_w, const Tensor& scale, const ProposalConfig& cfg) {
  const char* op = "proposal_layer_fixed";
  check_inputs(op, scores, deltas, anchors, img_h, img_w, cfg);
  require(scale.defined() && scale.dtype() == DType::F32 && scale.numel() == 1, op,
          "scale must be a 1-element F32 tensor, got " + desc(scale));
  const int64_t A = scores.size(0), H = scores.size(1), W = scores.size(2);
  const Device dev = common_device(op, {&scores, &deltas, &anchors, &scale});
  const int64_t cap = proposal_capacity(A * H * W, cfg);
  FixedProposals out{Tensor::empty({cap, 4}, DType::F32, dev, ctx.stream()),
                     Tensor::empty({cap}, DType::F32, dev, ctx.stream()),
                     Tensor::empty({1}, DType::I32, dev, ctx.stream())};
#if FRCNN_WITH_CUDA
  if (dev.is_cuda()) {
    proposal_layer_into_cuda(scores.data<float>(), deltas.data<float>(), anchors.data<float>(), int(A), int(H * W),
                             img_h, img_w, cfg.min_size, scale.data<float>(), cfg, int(cap), out.boxes.data<float>(),
                             out.scores.data<float>(), out.count.data<int32_t>(), dev, ctx.stream());
    return out;
  }
#endif
  // CPU: the variable-size result, zero-padded (there is nothing to read back on the CPU).
  const float s = scale.data<float>()[0];
  require(s > 0, op, "scale must be positive");
  Proposals p = proposal_layer_cpu(scores.data<float>(), deltas.data<float>(), anchors.data<float>(), int(A),
                                   int(H * W), img_h, img_w, cfg.min_size * s, cfg);
  const int64_t P = p.boxes.size(0);
  out.boxes.zero_();
  out.scores.zero_();
  std::copy_n(p.boxes.data<float>(), 4 * P, out.boxes.data<float>());
  std::copy_n(p.scores.data<float>(), P, out.scores.data<float>());
  out.count.data<int32_t>()[0] = static_cast<int32_t>(P);
  return out;
}

}  // namespace frcnn
