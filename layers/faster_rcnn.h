// Faster R-CNN (VGG16): one shared backbone feeding the RPN and the Fast R-CNN head.
//
//   image (1, 3, H, W) --VGG16--> conv5_3 (1, C, H/16, W/16)
//        --RPN head--> logits (1, 2A, h, w), deltas (1, 4A, h, w)
//        --proposal layer (decode, clip, min size, top-N, NMS 0.7)--> proposals (P, 4)
//        --RoI head (RoI pool 7x7, fc6, fc7)--> cls_score (P, K+1), bbox_pred (P, 4(K+1))
//        --softmax, decode with the target stds, clip, per-class NMS 0.3--> detections
//
// Training is one image at a time: train_image() runs forward and backward for the
// parts a stage trains and ACCUMULATES parameter gradients (scaled by loss_scale, so a
// batch of n images uses 1/n). The heads own their losses (RpnHead::losses,
// RoiHead::sample + losses); the shared conv5_3 gradient is the sum of what the RPN and
// the RoI head send back, and reaches the backbone only when it has trainable blocks.
// Which parameters are frozen is the caller's (the schedule's) business.
//
// Parameter names: conv1_1.* ... conv5_3.*, rpn_conv.*, rpn_cls_score.*, rpn_bbox_pred.*,
// fc6.*, fc7.*, cls_score.*, bbox_pred.* (see each part's header).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/rng.h"
#include "kernels/nms.h"
#include "kernels/proposals.h"
#include "layers/detect_plan.h"
#include "layers/model_config.h"
#include "layers/roi_head.h"
#include "layers/rpn_head.h"
#include "layers/vgg16.h"

namespace frcnn {

// Per-image time split as the paper's Table 5: shared conv layers; RPN head + proposal
// layer; RoI pool + fc layers + final NMS (and the copy back). On a CUDA device the
// phases are GPU times from events (no sync between them), gpu_ms their sum, and
// total_ms - gpu_ms the host's overhead; on the CPU they are wall times and gpu_ms is 0.
struct DetectTiming {
  double conv_ms = 0, proposals_ms = 0, region_ms = 0, total_ms = 0, gpu_ms = 0;
  bool graph = false;  // the GPU work ran as a replayed CUDA graph
};

struct DetectResult {
  Tensor boxes;   // (D, 4) F32 in ORIGINAL image coordinates (divided by the input scale), CPU
  Tensor scores;  // (D) F32, descending, CPU
  Tensor labels;  // (D) I32 in 1..K, CPU
  int num_proposals = 0;
  DetectTiming timing;
};

// detect_batch's answer: each image's detections (in its own original coordinates; each
// one's timing is the batch's) and the batch's time split.
struct BatchDetectResult {
  std::vector<DetectResult> images;
  DetectTiming timing;
};

// What a training step trains: the RPN, the Fast R-CNN head on given proposals, or
// both at once on the RPN's own proposals (approximate joint training).
enum class TrainParts { Rpn, Head, Joint };

// One image's training step: what it trains and its share of the minibatch.
struct TrainStep {
  TrainParts parts = TrainParts::Joint;
  float loss_scale = 1.f;    // multiplies every gradient: 1 / images in the minibatch
  int rois_per_image = 128;  // Fast R-CNN RoIs sampled from this image
  float bg_iou_lo = 0.f;     // background RoIs: max IoU in [bg_iou_lo, roi.bg_iou_hi)
};

// py-faster-rcnn's split of a Fast R-CNN minibatch: model.roi.batch RoIs over
// `ims_per_batch` images (rois_per_image = batch / images; a head step throws when it
// does not divide, which validate_config reports first).
TrainStep minibatch_step(TrainParts parts, const ModelConfig& cfg, int ims_per_batch, float bg_iou_lo);

struct StepLosses {
  double rpn_cls = 0, rpn_bbox = 0, cls = 0, bbox = 0;
  int rois = 0, fg_rois = 0;  // head RoIs sampled / foreground among them
  double total() const { return rpn_cls + rpn_bbox + cls + bbox; }
};

class FasterRCNN {
 public:
  explicit FasterRCNN(const ModelConfig& cfg);

  const ModelConfig& config() const { return cfg_; }
  Vgg16Backbone& backbone() { return backbone_; }
  RpnHead& rpn() { return rpn_; }
  RoiHead& head() { return head_; }
  std::vector<Param*> params();

  void to(Context& ctx);
  void set_training(bool t);
  void set_conv_backend(ConvBackend b);
  // Inference activations in BF16 in bf16 on CUDA (Vgg16Backbone / RpnHead::
  // set_lowp_activations; on by default, the same detections either way). Drops the
  // detect plans (their graphs baked the setting in).
  void set_lowp_activations(bool on);

  // Random init of everything: backbone msra/xavier, RPN N(0, 0.01), fc6/fc7
  // msra/xavier, cls_score N(0, 0.01), bbox_pred N(0, 0.001), zero biases.
  void init(Context& ctx, uint64_t seed, const std::string& method);
  // ImageNet VGG16 weights (scripts/convert_vgg16.py): conv1_1..conv5_3 must all be
  // there with matching shapes; fc6/fc7 are loaded when present and shaped like ours,
  // else they keep their random init (logged). Errors name the file and the tensor.
  void load_imagenet(Context& ctx, const std::string& path);
  // A whole detector (save()): every parameter must be present and shaped like this
  // config, and the file's class list must equal the config's; errors say which.
  void load(Context& ctx, const std::string& path);
  // Writes all parameters with metadata: format, classes, plus `extra`.
  void save(const std::string& path, std::map<std::string, std::string> extra = {});

  // image: (1, 3, H, W) on ctx's device, preprocessed; scale = H / original height.
  // On a CUDA device the work runs through a plan per input shape (layers/detect_plan.h):
  // after its first image a shape's detect() allocates nothing and syncs once, and with
  // CUDA graphs on (model.test.cuda_graphs, set_cuda_graphs) the second image of a shape
  // captures the GPU work into a graph that every later one replays. Results are the same
  // in every mode (bit for bit between graph and eager).
  DetectResult detect(Context& ctx, const Tensor& image, float scale);
  // Throughput mode: B images through ONE backbone and RPN pass; the RoI head then runs
  // per image (a BLAS computes a row differently by its place in a bigger matrix, so a
  // batched head would not give detect()'s bits). images[i]:
  // (1, 3, h_i, w_i) on ctx's device, preprocessed, scales[i] its scale. They are padded
  // into one (B, 3, max h, max w) blob as the paper's code does (each top-left, zeros
  // elsewhere), and each image's proposals and boxes are clipped to its own size. Images
  // of one size give exactly what B detect() calls give; a padded image gives what
  // detect_batch of it alone, padded to the same blob, gives (zeros past its border reach
  // the conv layers). On CUDA a plan (and graph) per list of sizes, as detect()'s.
  BatchDetectResult detect_batch(Context& ctx, const std::vector<Tensor>& images, const std::vector<float>& scales);
  void set_cuda_graphs(bool on) { cuda_graphs_ = on; }
  bool cuda_graphs() const { return cuda_graphs_; }
  // The plans detect() holds (at most kMaxDetectPlans, least recently used evicted) and how
  // many of them hold a captured graph.
  static constexpr size_t kMaxDetectPlans = 8;
  size_t detect_plans() const { return plans_.size(); }
  size_t detect_graphs() const;
  void clear_detect_plans() { plans_.clear(); }
  // RPN proposals (P, 4) in input-image coordinates for one image (eval mode).
  Proposals propose(Context& ctx, const Tensor& image, float scale, int pre_nms, int post_nms);

  // One image's forward + backward. gt_boxes (G, 4) F32 in input-image coordinates,
  // gt_labels (G) I32 in 1..K, both on ctx's device. `proposals` (P, 4) in input-image
  // coordinates are used for TrainParts::Head. Anchor sampling, RoI sampling and the
  // dropout masks draw from rng's current step with `slot` (the image's place in the
  // minibatch) in their stream ids, so every image of a batch gets its own draws.
  StepLosses train_image(Context& ctx, const Tensor& image, const Tensor& gt_boxes, const Tensor& gt_labels,
                         float scale, const Tensor& proposals, const CounterRng& rng, uint32_t slot,
                         const TrainStep& step);

 private:
  const Tensor& anchors_for(Context& ctx, int h, int w);
  DetectConfig test_detect_config() const;  // model.test's final-detection settings
  ProposalConfig proposal_config(int pre_nms, int post_nms) const;  // model.rpn's NMS and min size
  BatchDetectResult detect_cpu(Context& ctx, const std::vector<Tensor>& images, const std::vector<float>& scales);
  BatchDetectResult detect_cuda(Context& ctx, const std::vector<Tensor>& images, const std::vector<float>& scales);
  DetectPlan& plan_for(Context& ctx, const std::vector<Tensor>& images);
  // The GPU work of one detect() / detect_batch() on plan.input / plan.params, ending with
  // the copy of the packed detections into plan.host_result: nothing in it waits for the
  // device.
  void detect_stages(Context& ctx, DetectPlan& plan);
  // The proposal layer over the RPN head's outputs for a (1, 3, H, W) image whose
  // conv5_3 map is h x w: foreground probabilities, decode, clip, min size, NMS.
  Proposals rpn_proposals(Context& ctx, const RpnOutput& r, int h, int w, const Tensor& image, float scale,
                          int pre_nms, int post_nms);

  ModelConfig cfg_;
  Vgg16Backbone backbone_;
  RpnHead rpn_;
  RoiHead head_;
  std::map<std::pair<int, int>, Tensor> anchor_cache_;  // (h, w) -> anchors on the model's device
  ConvBackend conv_backend_;
  bool cuda_graphs_;
  std::map<DetectPlanKey, std::unique_ptr<DetectPlan>> plans_;
  uint64_t plan_clock_ = 0;
};

}  // namespace frcnn
