// Dispatch and argument checks for proposal_targets.h.
#include "kernels/proposal_targets.h"

#include "kernels/dispatch.h"

#if FRCNN_WITH_CUDA
#include "kernels/proposal_targets_cuda.h"
#endif

namespace frcnn {

using namespace kernels_detail;

ProposalTargets proposal_targets_cpu(const float* props, int P, const float* gt, const int32_t* gt_labels, int G,
                                     int num_classes, const ProposalTargetConfig& cfg, RngKey key);

ProposalTargets proposal_targets(Context& ctx, const Tensor& proposals, const Tensor& gt_boxes,
                                 const Tensor& gt_labels, int num_classes, const ProposalTargetConfig& cfg,
                                 RngKey key) {
  const char* op = "proposal_targets";
  require_boxes(op, proposals, "proposals");
  require_boxes(op, gt_boxes, "gt_boxes");
  require(gt_labels.defined() && gt_labels.dtype() == DType::I32 && gt_labels.ndim() == 1 &&
              gt_labels.size(0) == gt_boxes.size(0),
          op, "gt_labels must be I32 (G) with G = " + std::to_string(gt_boxes.size(0)) + ", got " + desc(gt_labels));
  require(num_classes >= 2, op, "num_classes (K+1, background included) must be >= 2");
  require(cfg.batch >= 0 && cfg.fg_fraction >= 0 && cfg.fg_fraction <= 1, op, "batch/fg_fraction out of range");
  require(proposals.size(0) + gt_boxes.size(0) < (int64_t(1) << 31), op, "too many boxes");
  [[maybe_unused]] Device dev = common_device(op, {&proposals, &gt_boxes, &gt_labels});
  // to_vector copies on the legacy default stream: wait for ctx's stream (where the
  // labels may still be being written) first.
  if (dev.is_cuda()) ctx.synchronize();
  for (int32_t l : gt_labels.to_vector<int32_t>())
    require(l >= 1 && l < num_classes, op,
            "gt label " + std::to_string(l) + " outside 1.." + std::to_string(num_classes - 1));
  const int P = int(proposals.size(0)), G = int(gt_boxes.size(0));
#if FRCNN_WITH_CUDA
  if (dev.is_cuda())
    return proposal_targets_cuda(proposals.data<float>(), P, gt_boxes.data<float>(), gt_labels.data<int32_t>(), G,
                                 num_classes, cfg, key, dev, ctx.stream());
#endif
  return proposal_targets_cpu(proposals.data<float>(), P, gt_boxes.data<float>(), gt_labels.data<int32_t>(), G,
                              num_classes, cfg, key);
}

}  // namespace frcnn
