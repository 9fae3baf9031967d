// Detection evaluation over a VOC split: run the detector on every image, score the
// detections exactly as the VOC devkit does (train/voc_eval.h) and write the files.
//
// evaluate_split(ctx, model, cfg, conv, split, out_dir, metric, max_images):
//   - reads cfg.data.root / ImageSets/Main/<split>.txt (VocDataset, difficult objects kept),
//     takes the first max_images images of the split (0: all), in split order;
//   - detects on each through the prefetching Loader (evaluation mode: no flip, input.scale /
//     input.max_size, the given input convention); progress (done / total, images/s, ETA) is
//     logged every 10 % of the split or 20 images, whichever comes first;
//   - every evaluated image gets a ground-truth record, also one with no objects or one that
//     could not be decoded (its objects then count as missed; the loader warns naming the file,
//     and EvalSummary::images_failed counts it);
//   - detections are clipped to the original image and written as devkit result files; the
//     evaluation then READS THOSE FILES BACK, so `frcnn eval --from-results` on the same
//     folder reproduces the numbers exactly (the files round coordinates to 0.1 px and
//     scores to 1e-6);
//   - writes, under out_dir:
//       results/comp4_det_<split>_<class>.txt   devkit result files (write_voc_results)
//       detections.json                         COCO-style list (write_coco_detections)
//       eval.json                               write_eval_json's fields plus "split",
//                                               "num_images", "images_failed", "mean_detect_ms",
//                                               "mean_timing_ms" {conv, proposals, region, total}
//       pr_<class>.png, pr_all.png              precision-recall charts (write_pr_curves)
//   - prints the AP table (format_ap_table) to stdout.
// Timing: DetectResult::timing per image (the paper's Table 5 split); the means leave out
// the first image (warm-up: CUDA context, allocator, cuDNN plans) when there are two or more.
#pragma once
#include <string>
#include <vector>

#include "data/input_convention.h"
#include "data/voc.h"
#include "layers/faster_rcnn.h"
#include "train/config.h"
#include "train/voc_eval.h"

namespace frcnn {

struct EvalSummary {
  double map = 0.0;                 // mean AP over the classes with ground truth
  VocEvalResult result;             // per-class APs (result.classes[c].ap, .excluded), counts, PR data
  int num_images = 0;               // images in the evaluation (ground-truth records)
  int images_failed = 0;            // images that could not be decoded: no detections for them
  int num_detections = 0;           // over all classes
  double mean_detect_ms = 0.0;      // mean FasterRCNN::detect time per image (warm-up excluded, see above)
  DetectTiming mean_timing;         // the same split into conv / proposals / region / total
  double seconds = 0.0;             // wall time of the detection pass (0 when re-scoring files)
  std::string out_dir;
};

EvalSummary evaluate_split(Context& ctx, FasterRCNN& model, const Config& cfg, const InputConvention& conv,
                           const std::string& split, const std::string& out_dir, ApMetric metric,
                           int max_images = 0 /* 0 = all */);

// ---- the glue, exposed for `frcnn eval --from-results` and the tests ----------------------

// Ground truth of records [0, count) of `ds` (count > size: all): boxes in our convention,
// labels 0-based (VocObject::label - 1), difficult flags; images without objects included.
std::vector<VocGtImage> voc_ground_truth(const VocDataset& ds, size_t count);

// mAP is the mean AP over the classes with ground truth: a split with no non-difficult
// object at all has none, and its mAP is not defined. Throws std::runtime_error starting
// with `what` (e.g. "<root> split 'test'") in that case; evaluate_split checks it before
// running the detector, evaluate_results before scoring.
void require_ground_truth(const std::vector<VocGtImage>& ground_truth, const std::string& what);

// Appends one image's detections to per-class lists (per_class.size() = K). boxes (D, 4)
// in original-image coordinates are clipped to [0, width] x [0, height]; labels (D) I32 in
// 1..K (throws std::invalid_argument otherwise); scores (D) F32. CPU tensors.
void append_detections(std::vector<std::vector<VocDetection>>& per_class, const std::string& image_id,
                       const Tensor& boxes, const Tensor& scores, const Tensor& labels, int width, int height);

// Writes the devkit result files of `detections` under out_dir, then evaluate_results() on
// them (the read-back numbers, see above).
EvalSummary score_detections(const std::vector<std::string>& class_names,
                             const std::vector<std::vector<VocDetection>>& detections,
                             const std::vector<VocGtImage>& ground_truth, const std::string& split,
                             const std::string& out_dir, ApMetric metric);

// Reads results_dir/results/comp4_det_<split>_<class>.txt (read_voc_results), evaluates them
// against `ground_truth` and writes detections.json, eval.json, pr_*.png under out_dir
// (results_dir and out_dir may be the same folder); prints the AP table.
EvalSummary evaluate_results(const std::vector<std::string>& class_names,
                             const std::vector<VocGtImage>& ground_truth, const std::string& results_dir,
                             const std::string& split, const std::string& out_dir, ApMetric metric);

// Writes out_dir/eval.json for a summary (write_eval_json plus the fields listed above).
void write_eval_summary_json(const std::string& path, const EvalSummary& s, const std::string& split);

}  // namespace frcnn
