// End-to-end benchmark of the whole detector (`frcnn bench`, issue 7): inference time per
// image split like the paper's Table 5, and seconds per training iteration for the
// three kinds of stage (RPN, Fast R-CNN, approximate joint), with peak memory.
//
// What is timed, and on what:
//   - Random weights (FasterRCNN::init) and random inputs (uniform 8-bit pixels prepared
//     as the config's input.convention says, never zeros): the work per image depends on
//     the shapes, not on the values, except for the final per-class NMS, which has less to do with random
//     weights (near-uniform class scores mostly fall under the 0.05 threshold) than with
//     trained ones. The report says so.
//   - inference: batch 1 at the config's input size (input.scale x input.max_size, e.g.
//     600x1000 for configs/vgg16_voc07.yaml) unless a size is given; `warmup` untimed
//     images, then `iters` timed ones; per image FasterRCNN::detect's DetectTiming (on
//     CUDA phases from events, one sync per image: total - GPU time = the host's
//     overhead; on the CPU wall times). With batches (--batch), the same for
//     FasterRCNN::detect_batch of B same-size images: `iters` timed calls, times per image
//     = per call / B, fps = images per second.
//   - training: one iteration = zero_grad of the trainable parameters + train_image for
//     each image of the batch (loss scale 1/n) + one SGD step, then a sync; wall time.
//       rpn    TrainParts::Rpn, RoI head frozen, backbone blocks frozen as the config
//              says (the paper: 2), schedule.rpn1.ims_per_batch images (1)
//       head   TrainParts::Head on schedule.proposal_post_nms random proposals around
//              random GT boxes, RPN frozen, schedule.frcn1.ims_per_batch images (2)
//       joint  TrainParts::Joint, nothing but the frozen blocks frozen,
//              schedule.joint.ims_per_batch images (1)
//   - memory: on CUDA the caching allocator's peak bytes in use (tensors only; cuBLAS /
//     cuDNN workspaces outside the allocator are not counted), reset before each phase;
//     on the CPU the process's peak resident set size (getrusage ru_maxrss), which only
//     grows over the process, so later phases include earlier ones. `memory_kind` says
//     which one a number is.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/context.h"
#include "engine/device.h"
#include "train/bench_loader.h"
#include "train/config.h"

namespace frcnn {

struct E2eOptions {
  std::string mode = "all";  // inference | train | all
  int iters = 20;            // timed images (inference) / iterations (each training stage)
  int warmup = 3;            // untimed runs before each measured phase
  int height = 0, width = 0; // input size; 0: the config's input.scale x input.max_size
  uint64_t seed = 7;         // weights, images, GT boxes and proposals derive from it
  // Throughput mode: besides batch 1 (the paper's figure), inference with B images per
  // FasterRCNN::detect_batch call for each B > 1 listed here.
  std::vector<int> batches;
};

// Summary of repeated measurements (milliseconds or seconds, as the field says).
struct TimeStats {
  double median = 0, mean = 0, min = 0, max = 0;
  int count = 0;
};
TimeStats time_stats(std::vector<double> v);

struct PeakMemory {
  double mib = 0;
  std::string kind;  // "cuda_allocator_peak_in_use" | "process_peak_rss"
};

struct InferenceBench {
  int height = 0, width = 0;
  int batch = 1;                                          // images per detect / detect_batch call
  bool graphs = false;                                    // CUDA graphs on (replayed after warm-up)
  TimeStats conv_ms, proposals_ms, region_ms, total_ms;  // per image (a batch's time / batch)
  TimeStats gpu_ms, host_ms;                              // CUDA: GPU time (events), total - GPU time
  double fps = 0;                                         // images per second: 1000 / median total
  double mean_proposals = 0, mean_detections = 0;
  // Per timed image (engine/device_counters.h): our kernel launches, graph launches, host
  // waits, device allocations.
  double launches = 0, graph_launches = 0, syncs = 0, allocations = 0;
  PeakMemory memory;
};

struct TrainBench {
  std::string stage;  // rpn | head | joint
  int ims_per_batch = 1;
  int frozen_blocks = 0;
  int proposals = 0;       // head stage: given proposals per image
  TimeStats s_per_iter;    // seconds per iteration
  double images_per_s = 0; // ims_per_batch / median
  double last_loss = 0;    // total loss of the last iteration (a sanity figure: finite)
  PeakMemory memory;
};

struct E2eReport {
  std::string config_name;  // file stem, e.g. vgg16_voc07
  std::string device;       // "cuda:0 NVIDIA H100 80GB HBM3" / "cpu: <model name> (N threads)"
  std::string build;        // version, CUDA arch, cuDNN
  std::string conv_backend; // own | cudnn on CUDA; "cpu (oneDNN 2.6.3)" on the CPU
  std::string math;         // ctx's math mode on CUDA (fp32 | tf32; engine/math_mode.h), "fp32" on the CPU
  std::string math_detail;  // what that mode sets in cuDNN / cuBLAS, and environment overrides if any
  bool deterministic = true;  // cuDNN algorithms restricted to deterministic ones
  std::string date;         // UTC, ISO 8601
  std::string timing;       // how times were taken
  int iters = 0, warmup = 0;
  bool has_inference = false;
  InferenceBench inference;        // as the config says (model.test.cuda_graphs)
  bool has_inference_eager = false;
  InferenceBench inference_eager;  // CUDA with graphs on: the same without them, for comparison
  std::vector<InferenceBench> inference_batched;  // E2eOptions::batches, graphs as the config says
  std::vector<InferenceBench> inference_batched_no_graphs;  // the same without graphs (CUDA, graphs on)
  std::vector<LoaderBench> loader;                // the input pipeline alone: 1 thread, all threads
  std::vector<TrainBench> train;
};

// Runs the benchmark on ctx's device and stream. Throws std::invalid_argument for a bad
// mode / size / count.
E2eReport run_e2e_bench(const Config& cfg, const std::string& config_name, Context& ctx, const E2eOptions& opt);

nlohmann::json e2e_to_json(const E2eReport& r);
// The human-readable table `frcnn bench` prints.
std::string e2e_table(const E2eReport& r);

// "600x1000" -> (600, 1000); throws std::invalid_argument naming the text otherwise.
void parse_size(const std::string& text, int& height, int& width);

}  // namespace frcnn
