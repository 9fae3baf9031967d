// FasterRCNN::detect: the CPU path (variable-size tensors, wall-clock phases) and the CUDA
// path (fixed-capacity, device-resident stages run through a plan per input shape,
// optionally as a replayed CUDA graph; layers/detect_plan.h).
#include <algorithm>
#include <cstring>

#include "engine/log.h"
#include "engine/timer.h"
#include "kernels/axpy.h"
#include "kernels/box_ops.h"
#include "kernels/image_blob.h"
#include "kernels/losses.h"
#include "kernels/nms.h"
#include "kernels/rpn_ops.h"
#include "layers/faster_rcnn.h"
#include "layers/param_lowp.h"

namespace frcnn {

namespace {

// What detect() and detect_batch() require of their inputs; `op` names the caller.
void check_detect_inputs(const char* op, const Context& ctx, const std::vector<Tensor>& images,
                         const std::vector<float>& scales) {
  const std::string o(op);
  if (images.empty()) throw std::invalid_argument(o + ": no images");
  if (images.size() != scales.size())
    throw std::invalid_argument(str_cat(o, ": ", images.size(), " images but ", scales.size(), " scales"));
  for (size_t i = 0; i < images.size(); ++i) {
    const Tensor& image = images[i];
    const std::string which = images.size() == 1 ? "the image" : str_cat("image ", i);
    if (!image.defined() || image.ndim() != 4 || image.size(0) != 1 || image.size(1) != 3 ||
        image.dtype() != DType::F32)
      throw std::invalid_argument(o + ": " + which + " must be F32 (1, 3, H, W), got " +
                                  (image.defined() ? shape_str(image.shape()) : std::string("an undefined tensor")));
    if (!(scales[i] > 0))
      throw std::invalid_argument(str_cat(o, ": the scale of ", which, " must be positive, got ", scales[i]));
    if (image.device() != ctx.device())
      throw std::invalid_argument(o + ": " + which + " is on " + image.device().str() + " but the context on " +
                                  ctx.device().str());
  }
}

}  // namespace

DetectResult FasterRCNN::detect(Context& ctx, const Tensor& image, float scale) {
  check_detect_inputs("detect", ctx, {image}, {scale});
  set_training(false);
  BatchDetectResult b = ctx.is_cuda() ? detect_cuda(ctx, {image}, {scale}) : detect_cpu(ctx, {image}, {scale});
  return std::move(b.images[0]);
}

BatchDetectResult FasterRCNN::detect_batch(Context& ctx, const std::vector<Tensor>& images,
                                           const std::vector<float>& scales) {
  check_detect_inputs("detect_batch", ctx, images, scales);
  set_training(false);
  return ctx.is_cuda() ? detect_cuda(ctx, images, scales) : detect_cpu(ctx, images, scales);
}

DetectConfig FasterRCNN::test_detect_config() const {
  return DetectConfig{cfg_.test.score_threshold, cfg_.test.nms, cfg_.test.max_per_image};
}

BatchDetectResult FasterRCNN::detect_cpu(Context& ctx, const std::vector<Tensor>& images,
                                         const std::vector<float>& scales) {
  const int64_t B = int64_t(images.size());
  BatchDetectResult res;
  res.images.resize(size_t(B));
  WallTimer total, phase;
  // The input: the image itself, or the padded blob (B, 3, max h, max w).
  int64_t H = 0, W = 0;
  for (const Tensor& im : images) H = std::max(H, im.size(2)), W = std::max(W, im.size(3));
  Tensor blob = images[0];
  if (B > 1) {
    blob = Tensor::empty({B, 3, H, W});
    for (int64_t b = 0; b < B; ++b) pad_image_into(ctx, images[size_t(b)], blob, b);
  }
  // Shared conv layers.
  Tensor feat = backbone_.forward(ctx, blob);  // (B, C, h, w)
  res.timing.conv_ms = phase.millis();
  phase.reset();
  // RPN and each image's proposals, in its own size.
  RpnOutput r = rpn_.forward(ctx, feat);
  const int h = static_cast<int>(feat.size(2)), w = static_cast<int>(feat.size(3));
  std::vector<Proposals> props;
  for (int64_t b = 0; b < B; ++b) {
    const RpnOutput rb{r.logits.slice(b, b + 1), r.deltas.slice(b, b + 1)};
    props.push_back(rpn_proposals(ctx, rb, h, w, images[size_t(b)], scales[size_t(b)], cfg_.rpn.test_pre_nms,
                                  cfg_.rpn.test_post_nms));
    res.images[size_t(b)].num_proposals = static_cast<int>(props.back().boxes.size(0));
  }
  res.timing.proposals_ms = phase.millis();
  phase.reset();
  // Region-wise, per image (see detect_batch): RoI pool, fc6, fc7, scores, class-specific
  // boxes, per-class NMS, original coordinates.
  for (int64_t b = 0; b < B; ++b) {
    const Tensor& im = images[size_t(b)];
    const Proposals& p = props[size_t(b)];
    Detections det;
    if (p.boxes.size(0) > 0) {
      HeadOutput o = head_.forward(ctx, feat.slice(b, b + 1), boxes_to_rois(ctx, p.boxes, 0));
      Tensor boxes = decode_boxes(ctx, p.boxes, o.bbox_pred, head_.coder());
      boxes = clip_boxes(ctx, boxes, float(im.size(2)), float(im.size(3)));
      det = detect_per_class(ctx, boxes, softmax(ctx, o.cls_score), test_detect_config());
    } else {
      det.boxes = Tensor::empty({0, 4});
      det.scores = Tensor::empty({0});
      det.labels = Tensor::empty({0}, DType::I32);
    }
    // Back to original-image coordinates.
    DetectResult& d = res.images[size_t(b)];
    d.boxes = tensor_scaled(ctx, 1.f / scales[size_t(b)], det.boxes);
    d.scores = det.scores;
    d.labels = det.labels;
  }
  res.timing.region_ms = phase.millis();
  res.timing.total_ms = total.millis();
  for (DetectResult& d : res.images) d.timing = res.timing;
  return res;
}

size_t FasterRCNN::detect_graphs() const {
  size_t n = 0;
  for (const auto& kv : plans_) n += kv.second->graph.defined();
  return n;
}

DetectPlan& FasterRCNN::plan_for(Context& ctx, const std::vector<Tensor>& images) {
  DetectPlanKey key;
  for (const Tensor& im : images) {
    key.height = std::max(key.height, im.size(2));
    key.width = std::max(key.width, im.size(3));
    key.images.emplace_back(im.size(2), im.size(3));
  }
  key.stream_id = ctx.stream().id;
  key.math = ctx.math_mode();
  key.backend = conv_backend_;
  key.graphs = cuda_graphs_;
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
  const int64_t B = plan.key.batch();
  plan.phase[0].record(s);
  Tensor feat = backbone_.forward(ctx, plan.input);  // (B, C, h, w)
  plan.phase[1].record(s);
  RpnOutput r = rpn_.forward(ctx, feat);
  const int h = static_cast<int>(feat.size(2)), w = static_cast<int>(feat.size(3));
  const ProposalConfig pc = proposal_config(cfg_.rpn.test_pre_nms, cfg_.rpn.test_post_nms);
  std::vector<FixedProposals> props;
  for (int64_t b = 0; b < B; ++b) {
    const auto [ih, iw] = plan.key.images[size_t(b)];
    props.push_back(proposal_layer_fixed(ctx, rpn_foreground_probs(ctx, r.logits.slice(b, b + 1)),
                                         r.deltas.slice(b, b + 1).reshape({-1, h, w}), anchors_for(ctx, h, w),
                                         float(ih), float(iw), plan.params.slice(2 * b, 2 * b + 1), pc));
  }
  plan.phase[2].record(s);
  // Per image (see detect_batch), every row of its fixed-capacity proposals goes through
  // the head (padding rows are zero boxes); the final step reads only the first
  // props[b].count of them.
  const DetectConfig dc = test_detect_config();
  for (int64_t b = 0; b < B; ++b) {
    const auto [ih, iw] = plan.key.images[size_t(b)];
    const FixedProposals& p = props[size_t(b)];
    HeadOutput o = head_.forward(ctx, feat.slice(b, b + 1), boxes_to_rois(ctx, p.boxes, 0));
    Tensor probs = softmax(ctx, o.cls_score);
    Tensor boxes = decode_boxes(ctx, p.boxes, o.bbox_pred, head_.coder());
    boxes = clip_boxes(ctx, boxes, float(ih), float(iw));
    Tensor packed = detect_per_class_packed(ctx, boxes, probs, p.count, plan.params.slice(2 * b + 1, 2 * b + 2), dc);
    if (!plan.host_result.data()) {  // the first run (never a capture: pinned allocation is not capturable)
      plan.det_capacity = detection_capacity(probs.size(0), probs.size(1) - 1, dc);
      plan.packed_words = packed.numel();
      plan.host_result = PinnedBuffer(size_t(B) * packed.nbytes());
    }
    if (packed.numel() != plan.packed_words)
      throw std::logic_error("detect: the packed detections changed size within one plan");
    copy_d2h_async(static_cast<int32_t*>(plan.host_result.data()) + b * plan.packed_words, packed.raw_data(),
                   packed.nbytes(), s);
  }
  plan.phase[3].record(s);
}

BatchDetectResult FasterRCNN::detect_cuda(Context& ctx, const std::vector<Tensor>& images,
                                          const std::vector<float>& scales) {
  WallTimer total;
  const Stream s = ctx.stream();
  DetectPlan& plan = plan_for(ctx, images);
  const int64_t B = plan.key.batch();
  // Weights changed since the last run (a solver step, a load) have stale bf16 copies; a
  // replayed graph reads those copies without converting, so they are remade first, in
  // place, outside the plan's pool.
  refresh_lowp(ctx, params());
  PoolScope pool(plan.pool, s);  // every allocation below comes from the plan's pool
  // In: the images and their scales (1 / scale maps boxes back, as tensor_scaled does).
  float* hp = static_cast<float*>(plan.host_params.data());
  for (int64_t b = 0; b < B; ++b) {
    hp[2 * b] = scales[size_t(b)];
    hp[2 * b + 1] = 1.f / scales[size_t(b)];
  }
  copy_h2d_async(plan.params.raw_data(), hp, plan.params.nbytes(), s);
  if (B == 1)  // the blob is the image
    copy_d2d_async(plan.input.raw_data(), images[0].raw_data(), images[0].nbytes(), s);
  else
    for (int64_t b = 0; b < B; ++b) pad_image_into(ctx, images[size_t(b)], plan.input, b);
  // The GPU work: eagerly on a shape's first image (which fills the pool and finds the
  // conv plans), captured on its second when graphs are on, replayed from then on.
  BatchDetectResult res;
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
  res.timing.conv_ms = CudaEvent::elapsed_ms(plan.phase[0], plan.phase[1]);
  res.timing.proposals_ms = CudaEvent::elapsed_ms(plan.phase[1], plan.phase[2]);
  res.timing.region_ms = CudaEvent::elapsed_ms(plan.phase[2], plan.phase[3]);
  res.timing.gpu_ms = CudaEvent::elapsed_ms(plan.phase[0], plan.phase[3]);
  res.timing.total_ms = total.millis();
  for (int64_t b = 0; b < B; ++b) {
    DetectResult d;
    Detections det = unpack_detections(static_cast<const int32_t*>(plan.host_result.data()) + b * plan.packed_words,
                                       plan.det_capacity, &d.num_proposals);
    d.boxes = det.boxes;
    d.scores = det.scores;
    d.labels = det.labels;
    d.timing = res.timing;
    res.images.push_back(std::move(d));
  }
  return res;
}

}  // namespace frcnn
