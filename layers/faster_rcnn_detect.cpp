// FasterRCNN::detect: the CPU path (variable-size tensors, wall-clock phases) and the CUDA
// path (fixed-capacity, device-resident stages run through a plan per input shape,
// optionally as a replayed CUDA graph; layers/detect_plan.h).
#include <algorithm>
#include <cstring>

#include "engine/log.h"
#include "engine/timer.h"
#include "kernels/axpy.h"
#include "kernels/box_ops.h"
#include "kernels/losses.h"
#include "kernels/nms.h"
#include "kernels/rpn_ops.h"
#include "layers/faster_rcnn.h"

namespace frcnn {

DetectResult FasterRCNN::detect(Context& ctx, const Tensor& image, float scale) {
  if (!image.defined() || image.ndim() != 4 || image.size(0) != 1 || image.size(1) != 3 || image.dtype() != DType::F32)
    throw std::invalid_argument("detect: the image must be F32 (1, 3, H, W), got " +
                                (image.defined() ? shape_str(image.shape()) : std::string("an undefined tensor")));
  if (!(scale > 0)) throw std::invalid_argument("detect: the scale must be positive, got " + std::to_string(scale));
  if (image.device() != ctx.device())
    throw std::invalid_argument("detect: the image is on " + image.device().str() + " but the context on " +
                                ctx.device().str());
  set_training(false);
  return ctx.is_cuda() ? detect_cuda(ctx, image, scale) : detect_cpu(ctx, image, scale);
}

DetectConfig FasterRCNN::test_detect_config() const {
  return DetectConfig{cfg_.test.score_threshold, cfg_.test.nms, cfg_.test.max_per_image};
}

DetectResult FasterRCNN::detect_cpu(Context& ctx, const Tensor& image, float scale) {
  DetectResult res;
  WallTimer total, phase;
  // Shared conv layers.
  Tensor feat = backbone_.forward(ctx, image);
  res.timing.conv_ms = phase.millis();
  phase.reset();
  // RPN and proposals.
  RpnOutput r = rpn_.forward(ctx, feat);
  const int h = static_cast<int>(feat.size(2)), w = static_cast<int>(feat.size(3));
  Proposals props = rpn_proposals(ctx, r, h, w, image, scale, cfg_.rpn.test_pre_nms, cfg_.rpn.test_post_nms);
  res.timing.proposals_ms = phase.millis();
  phase.reset();
  // Region-wise: RoI pool, fc6, fc7, scores, class-specific boxes, per-class NMS.
  res.num_proposals = static_cast<int>(props.boxes.size(0));
  Detections det;
  if (res.num_proposals > 0) {
    HeadOutput o = head_.forward(ctx, feat, boxes_to_rois(ctx, props.boxes, 0));
    Tensor probs = softmax(ctx, o.cls_score);
    Tensor boxes = decode_boxes(ctx, props.boxes, o.bbox_pred, head_.coder());
    boxes = clip_boxes(ctx, boxes, float(image.size(2)), float(image.size(3)));
    det = detect_per_class(ctx, boxes, probs,
                           test_detect_config());
  } else {
    det.boxes = Tensor::empty({0, 4});
    det.scores = Tensor::empty({0});
    det.labels = Tensor::empty({0}, DType::I32);
  }
  // Back to original-image coordinates.
  res.boxes = tensor_scaled(ctx, 1.f / scale, det.boxes);
  res.scores = det.scores;
  res.labels = det.labels;
  res.timing.region_ms = phase.millis();
  res.timing.total_ms = total.millis();
  return res;
}

size_t FasterRCNN::detect_graphs() const {
  size_t n = 0;
  for (const auto& kv : plans_) n += kv.second->graph.defined();
  return n;
}

DetectPlan& FasterRCNN::plan_for(Context& ctx, int64_t h, int64_t w) {
  DetectPlanKey key{h, w, ctx.stream().id, ctx.math_mode(), conv_backend_, cuda_graphs_};
  auto it = plans_.find(key);
  if (it == plans_.end()) {
    if (plans_.size() >= kMaxDetectPlans) {  // evict the least recently used
      auto lru = std::min_element(plans_.begin(), plans_.end(), [](const auto& a, const auto& b) {
        return a.second->last_use < b.second->last_use;
      });
      plans_.erase(lru);
    }
    it = plans_.emplace(key, std::make_unique<DetectPlan>(ctx.device(), ctx.stream(), key)).first;
  }
  it->second->last_use = ++plan_clock_;
  return *it->second;
}

void FasterRCNN::detect_stages(Context& ctx, DetectPlan& plan) {
  const Stream s = ctx.stream();
  plan.phase[0].record(s);
  Tensor feat = backbone_.forward(ctx, plan.input);
  plan.phase[1].record(s);
  RpnOutput r = rpn_.forward(ctx, feat);
  const int h = static_cast<int>(feat.size(2)), w = static_cast<int>(feat.size(3));
  const ProposalConfig pc{cfg_.rpn.test_pre_nms, cfg_.rpn.test_post_nms, cfg_.rpn.nms, cfg_.rpn.min_size};
  FixedProposals props =
      proposal_layer_fixed(ctx, rpn_foreground_probs(ctx, r.logits), r.deltas.reshape({-1, h, w}),
                           anchors_for(ctx, h, w), float(plan.key.height), float(plan.key.width),
                           plan.params.slice(0, 1), pc);
  plan.phase[2].record(s);
  // Every row of the fixed-capacity proposals goes through the head (padding rows are
  // zero boxes); the final step reads only the first props.count of them.
  HeadOutput o = head_.forward(ctx, feat, boxes_to_rois(ctx, props.boxes, 0));
  Tensor probs = softmax(ctx, o.cls_score);
  Tensor boxes = decode_boxes(ctx, props.boxes, o.bbox_pred, head_.coder());
  boxes = clip_boxes(ctx, boxes, float(plan.key.height), float(plan.key.width));
  const DetectConfig dc = test_detect_config();
  Tensor packed = detect_per_class_packed(ctx, boxes, probs, props.count, plan.params.slice(1, 2), dc);
  if (!plan.host_result.data()) {  // the first run (never a capture: pinned allocation is not capturable)
    plan.det_capacity = detection_capacity(probs.size(0), probs.size(1) - 1, dc);
    plan.host_result = PinnedBuffer(packed.nbytes());
  }
  if (packed.nbytes() != plan.host_result.bytes())
    throw std::logic_error("detect: the packed detections changed size within one plan");
  copy_d2h_async(plan.host_result.data(), packed.raw_data(), packed.nbytes(), s);
  plan.phase[3].record(s);
}

DetectResult FasterRCNN::detect_cuda(Context& ctx, const Tensor& image, float scale) {
  WallTimer total;
  const Stream s = ctx.stream();
  DetectPlan& plan = plan_for(ctx, image.size(2), image.size(3));
  PoolScope pool(plan.pool, s);  // every allocation below comes from the plan's pool
  // In: the image and its scale (1 / scale maps boxes back, as tensor_scaled does).
  float* hp = static_cast<float*>(plan.host_params.data());
  hp[0] = scale;
  hp[1] = 1.f / scale;
  copy_h2d_async(plan.params.raw_data(), hp, 2 * sizeof(float), s);
  copy_d2d_async(plan.input.raw_data(), image.raw_data(), image.nbytes(), s);
  // The GPU work: eagerly on a shape's first image (which fills the pool and finds the
  // conv plans), captured on its second when graphs are on, replayed from then on.
  DetectResult res;
  if (cuda_graphs_ && plan.runs >= 1 && !plan.capture_failed) {
    if (!plan.graph.defined()) {
      CudaGraph::begin_capture(s);
      try {
        detect_stages(ctx, plan);
      } catch (...) {
        CudaGraph::abort_capture(s);
        throw;
      }
      try {
        plan.graph = CudaGraph::end_capture(s);
      } catch (const std::runtime_error& e) {  // CudaError from the capture's end
        // Something in the work is not capturable here (a library's call, a driver's
        // limit): this size runs eagerly from now on, with the same results.
        plan.capture_failed = true;
        log_warn(str_cat("detect: CUDA graph capture failed for ", plan.key.height, "x", plan.key.width, " (",
                         e.what(), "); this input size runs without a graph"));
      }
    }
    if (plan.graph.defined()) {
      plan.graph.launch(s);
      res.timing.graph = true;
    } else {
      detect_stages(ctx, plan);
    }
  } else {
    detect_stages(ctx, plan);
  }
  ctx.synchronize();  // the one wait of the call
  ++plan.runs;
  Detections det = unpack_detections(static_cast<const int32_t*>(plan.host_result.data()), plan.det_capacity,
                                     &res.num_proposals);
  res.boxes = det.boxes;
  res.scores = det.scores;
  res.labels = det.labels;
  res.timing.conv_ms = CudaEvent::elapsed_ms(plan.phase[0], plan.phase[1]);
  res.timing.proposals_ms = CudaEvent::elapsed_ms(plan.phase[1], plan.phase[2]);
  res.timing.region_ms = CudaEvent::elapsed_ms(plan.phase[2], plan.phase[3]);
  res.timing.gpu_ms = CudaEvent::elapsed_ms(plan.phase[0], plan.phase[3]);
  res.timing.total_ms = total.millis();
  return res;
}

}  // namespace frcnn
