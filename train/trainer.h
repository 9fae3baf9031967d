// Training: the paper's 4-step alternating schedule ("alt4") and approximate joint
// training ("joint"), with exact resume.
//
// alt4 (docs/TRAINING.md; py-faster-rcnn's train_faster_rcnn_alt_opt.py):
//   rpn1   RPN + backbone (blocks above model.backbone.frozen_blocks), from the ImageNet
//          init (or the seeded random init);
//   proposals for every training image with the rpn1 network (no pre-NMS cap,
//          schedule.proposal_post_nms after NMS) -> proposals_rpn1.safetensors;
//   frcn1  Fast R-CNN head + backbone, the backbone re-initialised from the same
//          ImageNet / random init (NOT rpn1's), on rpn1's proposals;
//   rpn2   RPN layers only (re-initialised, as py-faster-rcnn's stage-2 RPN starts from
//          the stage-1 detector, which has no RPN layers) on frcn1's frozen backbone;
//   proposals with the rpn2 network -> proposals_rpn2.safetensors;
//   frcn2  fc6, fc7, cls_score, bbox_pred only, backbone frozen, on rpn2's proposals:
//          fc6/fc7 continue from frcn1, cls_score/bbox_pred start again from their
//          Gaussian init (py-faster-rcnn's frcn2 starts from the rpn2 snapshot, which
//          carries fc6/fc7 as dummy layers but not the two output layers).
//   The final model is one network: frcn1's (= rpn2's = frcn2's) backbone, rpn2's RPN,
//   frcn2's head.
// joint: one network, RPN and Fast R-CNN losses summed, proposals from the current RPN
//   treated as constants.
//
// Every iteration: zero_grad, ims_per_batch images (each image's losses scaled by
// 1/ims_per_batch, gradients accumulate; a head stage samples model.roi.batch /
// ims_per_batch RoIs per image, background from the stage's bg_iou_lo), one SGD step
// over the stage's trainable parameters only (so weight decay never touches parameters
// the stage does not train).
// Randomness: CounterRng(seed, step) with step = stage offset + iteration; the loader's
// order is a pure function of (seed, position). A checkpoint (train/checkpoint.h) holds
// every parameter, the momentum buffers, the stage, the iteration and the loader
// position, so `resume` replays the same iterations with the same losses.
//
// Output folder:
//   config.yaml, metrics.jsonl, loss_<stage>.png   the run
//   checkpoint.safetensors                          latest checkpoint (atomic)
//   <stage>.safetensors                             weights at the end of each stage
//   proposals_rpn1/2.safetensors                    alt4's stored proposals
//   model.safetensors                               the final detector (with input.* metadata)
//   .frcnn-lock                                     held (flock) while a run uses the folder (train/run_lock.h)
#pragma once
#include <atomic>
#include <functional>
#include <string>

#include "engine/context.h"
#include "layers/faster_rcnn.h"
#include "train/config.h"

namespace frcnn {

struct TrainOptions {
  std::string out_dir;
  std::string imagenet_weights;  // converted VGG16 (scripts/convert_vgg16.py); empty: random init
  bool resume = false;           // continue from out_dir/checkpoint.safetensors
  int64_t stop_after = -1;       // stop (after a checkpoint) once this many iterations ran in this process; -1: never
  // Checked after every iteration: when set (Ctrl-C in `frcnn train`), the run writes a
  // checkpoint and returns unfinished, so an interrupted run loses nothing.
  const std::atomic<bool>* stop_requested = nullptr;
};

struct TrainResult {
  std::string model_path;        // the final detector (its input convention is in its metadata)
  bool finished = false;         // false when stopped early (stop_after, stop_requested)
};

// Locks opts.out_dir for its duration (another run on it throws at once) and first removes
// the temp files of dead processes there (train/run_lock.h).
TrainResult train(const Config& cfg, Context& ctx, const TrainOptions& opts);

// One stage of a schedule, as train() runs it.
struct StagePlan {
  std::string name;       // rpn1, frcn1, rpn2, frcn2, joint
  TrainParts parts;
  StageConfig sc;
  int frozen_blocks;      // backbone blocks frozen during the stage
  std::string proposals;  // alt4's head stages: the stored proposals they train on
  int index;              // position in the schedule (RNG and loader offsets)
  TrainStep step;         // per image: loss scale, RoIs sampled, background IoU range
};

// The stages of cfg.schedule.type in order (alt4: rpn1, frcn1, rpn2, frcn2; joint: joint).
std::vector<StagePlan> make_schedule(const Config& cfg);

// "no backbone block frozen", "backbone block 1 frozen", "backbone blocks 1..N frozen".
std::string frozen_blocks_text(int frozen_blocks);

// Estimated seconds left in the whole run when `done` iterations of stages[stage] are done
// at `sec_per_iter`: the rest of this stage, plus every later stage at the same time per
// image (sec_per_iter / this stage's ims_per_batch, times the stage's iters and images per
// batch). The progress line's ETA (alt4's proposal passes are not counted).
double remaining_run_seconds(const std::vector<StagePlan>& stages, size_t stage, int64_t done, double sec_per_iter);

}  // namespace frcnn
