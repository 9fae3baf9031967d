// PASCAL VOC detection evaluation, exactly as the official devkit (VOCevaldet.m, VOCap.m)
// and py-faster-rcnn's lib/datasets/voc_eval.py compute it, plus the files around it:
// the devkit's per-class result files (written and read back), a COCO-style detections
// JSON, eval.json, a printable AP table and precision-recall plots.
//
// Box conventions (docs/EVALUATION.md): every box passed in or returned is in OUR continuous
// convention (x1, y1, x2, y2), no "+1". Inside the evaluation each box is converted back to
// the devkit's 1-based inclusive pixels, (x1+1, y1+1, x2, y2), and the devkit's own "+1"
// overlap is applied:
//   iw = min(x2) - max(x1) + 1, ih = min(y2) - max(y1) + 1 (both clamped at 0),
//   overlap = iw*ih / ((w_a+1)(h_a+1) + (w_b+1)(h_b+1) - iw*ih)   with w = x2 - x1 (1-based).
// After the conversion the +1s cancel: the devkit overlap of two converted boxes equals the
// plain continuous IoU of our boxes, so GT read from XML and evaluated here gives exactly
// the devkit's decisions (applying the +1 formula to unconverted boxes would not).
//
// Matching (per class, over all images at once):
//   * detections are sorted by score, descending, with a STABLE sort: detections of equal
//     score keep the order in which they were passed (MATLAB's sort, used by the devkit, is
//     stable; numpy's default argsort in voc_eval.py is not, so py-faster-rcnn's order of
//     ties is unspecified);
//   * each detection takes the ground-truth box of its class in its image with the largest
//     overlap (the first one on ties), difficult boxes included;
//   * overlap > iou_threshold (strictly; 0.5 by default): a difficult box -> the detection is
//     neither TP nor FP (ignored); a box not yet taken -> TP, and the box is taken; a box
//     already taken -> FP (duplicate). Otherwise FP.
//   * recall = cumTP / #non-difficult GT; precision = cumTP / (cumTP + cumFP), 0 while no
//     detection has counted yet (voc_eval.py divides by max(tp+fp, eps)).
// AP:
//   * Voc07 (the default, the VOC2007 test-set metric and the paper's): 11-point
//     interpolation, mean over t = k*0.1, k = 0..10 of max(precision at recall >= t), 0 if no
//     such point. t is computed as k*0.1 in double, as numpy's arange(0, 1.1, 0.1) does, so
//     t_3 = 0.30000000000000004 and a recall of exactly 3/10 does NOT reach it.
//   * Voc10: all-point area under the monotone (right-to-left running max) precision
//     envelope, VOC2010+'s metric (voc_eval.py's use_07_metric=False).
// Classes with no non-difficult ground truth are "excluded": their AP is not defined and
// they are left out of the mean (listed in VocEvalResult::excluded).
//
// Bad input throws std::invalid_argument saying what and where: non-finite scores or
// coordinates, boxes with x2 < x1 or y2 < y1, a detection whose image has no ground-truth
// record (the devkit also refuses it), duplicate image ids, labels out of range.
#pragma once
#include <array>
#include <string>
#include <vector>

namespace frcnn {

// One detection of one class (the class is implied by the list it is in).
struct VocDetection {
  std::string image_id;
  float score = 0.f;
  float x1 = 0.f, y1 = 0.f, x2 = 0.f, y2 = 0.f;  // our continuous convention
};

// Ground truth of one image. boxes/labels/difficult are parallel arrays. An image with no
// objects is allowed (and still a valid target for detections, which all become FP).
struct VocGtImage {
  std::string image_id;
  std::vector<std::array<float, 4>> boxes;  // (x1, y1, x2, y2), our convention
  std::vector<int> labels;                  // indices into class_names
  std::vector<bool> difficult;
};

enum class ApMetric {
  Voc07,  // 11-point interpolated AP (VOC2007 test)
  Voc10,  // area under the precision envelope (VOC2010+)
};
// "voc07_11point" / "voc10_area" (eval.json's "metric"). parse_ap_metric accepts "voc07" and
// "voc2010" (the names --metric documents, and the only ones its error lists) and as aliases
// the two above, "voc2007" and "voc10"; throws otherwise.
std::string ap_metric_name(ApMetric m);
ApMetric parse_ap_metric(const std::string& s);

struct ClassEvalResult {
  std::string name;
  int class_index = 0;
  int num_gt = 0;          // non-difficult ground-truth boxes (the recall denominator)
  int num_difficult = 0;   // difficult ground-truth boxes
  int num_detections = 0;  // all detections of the class
  int num_tp = 0, num_fp = 0, num_ignored = 0;  // ignored: matched a difficult box
  bool excluded = false;   // num_gt == 0: AP undefined, not in the mean
  double ap = 0.0;         // 0 when excluded
  // One entry per detection in ranked order (ignored ones included, as in the devkit):
  // cumulative recall and precision. Empty when there are no detections or excluded.
  std::vector<double> recall, precision;
};

struct VocEvalResult {
  ApMetric metric = ApMetric::Voc07;
  double iou_threshold = 0.5;
  std::vector<ClassEvalResult> classes;  // one per class name, in class order
  double map = 0.0;                       // mean AP over the classes not excluded (0 if none)
  std::vector<std::string> excluded;      // names of the classes left out of the mean
};

// 1-based devkit overlap of two boxes in devkit coordinates (already +1-converted).
double devkit_overlap(const std::array<double, 4>& a, const std::array<double, 4>& b);

// AP from cumulative recall/precision arrays (same length).
double voc_ap_11point(const std::vector<double>& recall, const std::vector<double>& precision);
double voc_ap_area(const std::vector<double>& recall, const std::vector<double>& precision);
double voc_ap(const std::vector<double>& recall, const std::vector<double>& precision, ApMetric m);

// Evaluates one class: `dets` are that class's detections (any order).
ClassEvalResult voc_eval_class(int class_index, const std::string& class_name,
                               const std::vector<VocDetection>& dets,
                               const std::vector<VocGtImage>& ground_truth,
                               ApMetric metric = ApMetric::Voc07, double iou_threshold = 0.5);

// Evaluates every class. detections[c] holds class c's detections (class_names[c]);
// detections.size() must equal class_names.size(). Ground-truth labels index class_names.
VocEvalResult voc_evaluate(const std::vector<std::string>& class_names,
                           const std::vector<std::vector<VocDetection>>& detections,
                           const std::vector<VocGtImage>& ground_truth,
                           ApMetric metric = ApMetric::Voc07, double iou_threshold = 0.5);

// ---- files ------------------------------------------------------------------------------

// DIR/results/comp4_det_<split>_<class>.txt
std::string voc_results_path(const std::string& dir, const std::string& split, const std::string& class_name);

// Writes one devkit result file per class (an empty file for a class with no detections),
// creating DIR/results/. Lines: "image_id score x1 y1 x2 y2", 1-based devkit coordinates
// (x1+1, y1+1, x2, y2) with 1 decimal as py-faster-rcnn writes them, the score with 6
// decimals (py-faster-rcnn writes 3, which creates needless ties). Returns the paths.
std::vector<std::string> write_voc_results(const std::string& dir, const std::string& split,
                                           const std::vector<std::string>& class_names,
                                           const std::vector<std::vector<VocDetection>>& detections);

// Reads the files write_voc_results writes (or the devkit's / py-faster-rcnn's), mapping the
// coordinates back to our convention (x1-1, y1-1, x2, y2). A missing file or a malformed
// line throws std::runtime_error naming the file and line.
std::vector<std::vector<VocDetection>> read_voc_results(const std::string& dir, const std::string& split,
                                                        const std::vector<std::string>& class_names);

// COCO-style detections: a JSON list of {"image_id": "<id>", "category_id": c+1,
// "category_name": name, "bbox": [x1, y1, x2-x1, y2-y1] (our convention), "score": s}.
// image_id stays a string (VOC ids such as "2008_000123" are not integers). Atomic write.
void write_coco_detections(const std::string& path, const std::vector<std::string>& class_names,
                           const std::vector<std::vector<VocDetection>>& detections);

// eval.json: {"metric", "iou_threshold", "map", "num_classes_in_mean", "excluded": [names],
// "classes": [{"name", "ap" (null when excluded), "num_gt", "num_difficult",
// "num_detections", "tp", "fp", "ignored", "excluded"}]}. Atomic write.
void write_eval_json(const std::string& path, const VocEvalResult& result);

// A plain-text table: one row per class (name, AP, GT, difficult, detections, TP, FP), then
// the mean, the metric, and the excluded classes.
std::string format_ap_table(const VocEvalResult& result);

// Precision-recall charts (train/plot.h): OUT_DIR/pr_<class>.png for every class that is not
// excluded, then OUT_DIR/pr_all.png with all of them (AP in the legend, mAP in the title).
// Creates OUT_DIR. Returns the paths written.
std::vector<std::string> write_pr_curves(const VocEvalResult& result, const std::string& out_dir);

}  // namespace frcnn
