#include "train/voc_eval.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "engine/safetensors.h"  // write_file_atomic
#include "train/json_dump.h"
#include "train/plot.h"

namespace frcnn {

std::string ap_metric_name(ApMetric m) { return m == ApMetric::Voc07 ? "voc07_11point" : "voc10_area"; }

ApMetric parse_ap_metric(const std::string& s) {
  if (s == "voc07_11point" || s == "voc07" || s == "voc2007") return ApMetric::Voc07;
  if (s == "voc10_area" || s == "voc10" || s == "voc2010") return ApMetric::Voc10;
  // The names `frcnn eval --metric` documents (its help, docs/USAGE.md); the others are aliases.
  throw std::invalid_argument("unknown AP metric '" + s + "' (use voc07 or voc2010)");
}

double devkit_overlap(const std::array<double, 4>& a, const std::array<double, 4>& b) {
  // Devkit (VOCevaldet.m): boxes are 1-based inclusive pixel ranges, hence the +1s.
  const double iw = std::min(a[2], b[2]) - std::max(a[0], b[0]) + 1.0;
  const double ih = std::min(a[3], b[3]) - std::max(a[1], b[1]) + 1.0;
  if (iw <= 0.0 || ih <= 0.0) return 0.0;
  const double inter = iw * ih;
  const double uni = (a[2] - a[0] + 1.0) * (a[3] - a[1] + 1.0) + (b[2] - b[0] + 1.0) * (b[3] - b[1] + 1.0) - inter;
  return uni > 0.0 ? inter / uni : 0.0;
}

double voc_ap_11point(const std::vector<double>& recall, const std::vector<double>& precision) {
  if (recall.size() != precision.size()) throw std::invalid_argument("voc_ap_11point: recall/precision sizes differ");
  double ap = 0.0;
  for (int k = 0; k <= 10; ++k) {
    const double t = k * 0.1;  // numpy arange(0, 1.1, 0.1): start + k*step
    double p = 0.0;
    for (size_t i = 0; i < recall.size(); ++i)
      if (recall[i] >= t) p = std::max(p, precision[i]);
    ap += p / 11.0;
  }
  return ap;
}

double voc_ap_area(const std::vector<double>& recall, const std::vector<double>& precision) {
  if (recall.size() != precision.size()) throw std::invalid_argument("voc_ap_area: recall/precision sizes differ");
  // mrec = [0, rec, 1], mpre = [0, prec, 0]; envelope right to left; sum over recall steps.
  const size_t n = recall.size() + 2;
  std::vector<double> mrec(n), mpre(n);
  mrec[0] = 0.0;
  mpre[0] = 0.0;
  for (size_t i = 0; i < recall.size(); ++i) {
    mrec[i + 1] = recall[i];
    mpre[i + 1] = precision[i];
  }
  mrec[n - 1] = 1.0;
  mpre[n - 1] = 0.0;
  for (size_t i = n - 1; i > 0; --i) mpre[i - 1] = std::max(mpre[i - 1], mpre[i]);
  double ap = 0.0;
  for (size_t i = 0; i + 1 < n; ++i)
    if (mrec[i + 1] != mrec[i]) ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
  return ap;
}

double voc_ap(const std::vector<double>& recall, const std::vector<double>& precision, ApMetric m) {
  return m == ApMetric::Voc07 ? voc_ap_11point(recall, precision) : voc_ap_area(recall, precision);
}

namespace {

void check_box(float x1, float y1, float x2, float y2, const std::string& where) {
  if (!std::isfinite(x1) || !std::isfinite(y1) || !std::isfinite(x2) || !std::isfinite(y2))
    throw std::invalid_argument(where + ": non-finite box coordinate");
  if (x2 < x1 || y2 < y1)
    throw std::invalid_argument(where + ": box has x2 < x1 or y2 < y1 (" + std::to_string(x1) + ", " +
                                std::to_string(y1) + ", " + std::to_string(x2) + ", " + std::to_string(y2) + ")");
}

// Our continuous box -> the devkit's 1-based inclusive box (docs/EVALUATION.md).
std::array<double, 4> to_devkit(float x1, float y1, float x2, float y2) {
  return {double(x1) + 1.0, double(y1) + 1.0, double(x2), double(y2)};
}

void check_ground_truth(const std::vector<VocGtImage>& gt, int num_classes,
                        std::unordered_map<std::string, size_t>* index) {
  for (size_t i = 0; i < gt.size(); ++i) {
    const auto& g = gt[i];
    const std::string where = "voc_evaluate: ground truth of image '" + g.image_id + "'";
    if (g.labels.size() != g.boxes.size() || g.difficult.size() != g.boxes.size())
      throw std::invalid_argument(where + ": boxes, labels and difficult flags differ in length");
    for (size_t k = 0; k < g.boxes.size(); ++k) {
      const auto& b = g.boxes[k];
      check_box(b[0], b[1], b[2], b[3], where + " box " + std::to_string(k));
      if (num_classes >= 0 && (g.labels[k] < 0 || g.labels[k] >= num_classes))
        throw std::invalid_argument(where + " box " + std::to_string(k) + ": label " + std::to_string(g.labels[k]) +
                                    " out of range [0, " + std::to_string(num_classes) + ")");
    }
    if (!index->emplace(g.image_id, i).second) throw std::invalid_argument(where + ": image id appears twice");
  }
}

ClassEvalResult eval_class_indexed(int c, const std::string& name, const std::vector<VocDetection>& dets,
                                   const std::vector<VocGtImage>& gt,
                                   const std::unordered_map<std::string, size_t>& index, ApMetric metric,
                                   double thr) {
  ClassEvalResult r;
  r.name = name;
  r.class_index = c;
  r.num_detections = static_cast<int>(dets.size());

  // Per image: this class's boxes (devkit coords), difficult flags, "already detected".
  struct Rec {
    std::vector<std::array<double, 4>> boxes;
    std::vector<bool> difficult;
    std::vector<bool> taken;
  };
  std::vector<Rec> recs(gt.size());
  for (size_t i = 0; i < gt.size(); ++i) {
    for (size_t k = 0; k < gt[i].boxes.size(); ++k) {
      if (gt[i].labels[k] != c) continue;
      const auto& b = gt[i].boxes[k];
      recs[i].boxes.push_back(to_devkit(b[0], b[1], b[2], b[3]));
      recs[i].difficult.push_back(gt[i].difficult[k]);
      recs[i].taken.push_back(false);
      if (gt[i].difficult[k])
        ++r.num_difficult;
      else
        ++r.num_gt;
    }
  }

  for (size_t d = 0; d < dets.size(); ++d) {
    const auto& e = dets[d];
    const std::string where = "voc_evaluate: class '" + name + "' detection " + std::to_string(d) + " (image '" +
                              e.image_id + "')";
    if (!std::isfinite(e.score)) throw std::invalid_argument(where + ": non-finite score");
    check_box(e.x1, e.y1, e.x2, e.y2, where);
    if (index.find(e.image_id) == index.end())
      throw std::invalid_argument(where + ": image has no ground-truth record");
  }

  // Stable sort by score, descending: ties keep input order (see the header).
  std::vector<size_t> order(dets.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return dets[a].score > dets[b].score; });

  std::vector<int> tp(dets.size(), 0), fp(dets.size(), 0);
  for (size_t d = 0; d < order.size(); ++d) {
    const auto& e = dets[order[d]];
    Rec& rec = recs[index.at(e.image_id)];
    const auto bb = to_devkit(e.x1, e.y1, e.x2, e.y2);
    double ovmax = -std::numeric_limits<double>::infinity();
    size_t jmax = 0;
    for (size_t j = 0; j < rec.boxes.size(); ++j) {
      const double ov = devkit_overlap(bb, rec.boxes[j]);
      if (ov > ovmax) {  // first maximum wins, as np.argmax and the devkit's loop
        ovmax = ov;
        jmax = j;
      }
    }
    if (ovmax > thr) {
      if (rec.difficult[jmax]) {
        ++r.num_ignored;  // neither TP nor FP
      } else if (!rec.taken[jmax]) {
        tp[d] = 1;
        rec.taken[jmax] = true;
      } else {
        fp[d] = 1;  // duplicate detection
      }
    } else {
      fp[d] = 1;
    }
  }
  r.num_tp = std::accumulate(tp.begin(), tp.end(), 0);
  r.num_fp = std::accumulate(fp.begin(), fp.end(), 0);

  if (r.num_gt == 0) {
    r.excluded = true;
    return r;
  }
  r.recall.resize(dets.size());
  r.precision.resize(dets.size());
  double ctp = 0, cfp = 0;
  for (size_t d = 0; d < dets.size(); ++d) {
    ctp += tp[d];
    cfp += fp[d];
    r.recall[d] = ctp / double(r.num_gt);
    // voc_eval.py: tp / max(tp + fp, eps) -> 0 before anything has counted.
    r.precision[d] = ctp / std::max(ctp + cfp, std::numeric_limits<double>::epsilon());
  }
  r.ap = voc_ap(r.recall, r.precision, metric);
  return r;
}

}  // namespace

ClassEvalResult voc_eval_class(int class_index, const std::string& class_name, const std::vector<VocDetection>& dets,
                               const std::vector<VocGtImage>& ground_truth, ApMetric metric, double iou_threshold) {
  std::unordered_map<std::string, size_t> index;
  check_ground_truth(ground_truth, -1, &index);
  return eval_class_indexed(class_index, class_name, dets, ground_truth, index, metric, iou_threshold);
}

VocEvalResult voc_evaluate(const std::vector<std::string>& class_names,
                           const std::vector<std::vector<VocDetection>>& detections,
                           const std::vector<VocGtImage>& ground_truth, ApMetric metric, double iou_threshold) {
  if (detections.size() != class_names.size())
    throw std::invalid_argument("voc_evaluate: " + std::to_string(detections.size()) + " detection lists for " +
                                std::to_string(class_names.size()) + " classes");
  if (!(iou_threshold >= 0.0 && iou_threshold < 1.0))
    throw std::invalid_argument("voc_evaluate: iou_threshold must be in [0, 1)");
  std::unordered_map<std::string, size_t> index;
  check_ground_truth(ground_truth, static_cast<int>(class_names.size()), &index);
  VocEvalResult res;
  res.metric = metric;
  res.iou_threshold = iou_threshold;
  double sum = 0;
  int n = 0;
  for (size_t c = 0; c < class_names.size(); ++c) {
    res.classes.push_back(eval_class_indexed(static_cast<int>(c), class_names[c], detections[c], ground_truth, index,
                                             metric, iou_threshold));
    const auto& r = res.classes.back();
    if (r.excluded) {
      res.excluded.push_back(r.name);
    } else {
      sum += r.ap;
      ++n;
    }
  }
  res.map = n > 0 ? sum / n : 0.0;
  return res;
}

// ---- files ------------------------------------------------------------------------------

std::string voc_results_path(const std::string& dir, const std::string& split, const std::string& class_name) {
  return (std::filesystem::path(dir) / "results" / ("comp4_det_" + split + "_" + class_name + ".txt")).string();
}

std::vector<std::string> write_voc_results(const std::string& dir, const std::string& split,
                                           const std::vector<std::string>& class_names,
                                           const std::vector<std::vector<VocDetection>>& detections) {
  if (detections.size() != class_names.size())
    throw std::invalid_argument("write_voc_results: " + std::to_string(detections.size()) + " detection lists for " +
                                std::to_string(class_names.size()) + " classes");
  std::filesystem::create_directories(std::filesystem::path(dir) / "results");
  std::vector<std::string> paths;
  for (size_t c = 0; c < class_names.size(); ++c) {
    std::string out;
    char line[96];
    for (const auto& d : detections[c]) {
      if (d.image_id.empty() || d.image_id.find_first_of(" \t\r\n") != std::string::npos)
        throw std::invalid_argument("write_voc_results: image id '" + d.image_id + "' is empty or has whitespace");
      if (!std::isfinite(d.score) || !std::isfinite(d.x1) || !std::isfinite(d.y1) || !std::isfinite(d.x2) ||
          !std::isfinite(d.y2))
        throw std::invalid_argument("write_voc_results: class '" + class_names[c] + "' image '" + d.image_id +
                                    "': non-finite score or coordinate");
      std::snprintf(line, sizeof(line), " %.6f %.1f %.1f %.1f %.1f\n", double(d.score), double(d.x1) + 1.0,
                    double(d.y1) + 1.0, double(d.x2), double(d.y2));
      out += d.image_id;
      out += line;
    }
    paths.push_back(voc_results_path(dir, split, class_names[c]));
    write_file_atomic(paths.back(), out);
  }
  return paths;
}

std::vector<std::vector<VocDetection>> read_voc_results(const std::string& dir, const std::string& split,
                                                        const std::vector<std::string>& class_names) {
  std::vector<std::vector<VocDetection>> out(class_names.size());
  for (size_t c = 0; c < class_names.size(); ++c) {
    const std::string path = voc_results_path(dir, split, class_names[c]);
    std::ifstream f(path);
    if (!f) throw std::runtime_error(path + ": cannot open result file");
    std::string line;
    int lineno = 0;
    while (std::getline(f, line)) {
      ++lineno;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::istringstream is(line);
      VocDetection d;
      double s, a, b, x, y;
      std::string extra;
      if (!(is >> d.image_id >> s >> a >> b >> x >> y) || (is >> extra))
        throw std::runtime_error(path + ":" + std::to_string(lineno) +
                                 ": expected 'image_id score x1 y1 x2 y2', got '" + line + "'");
      if (!std::isfinite(s) || !std::isfinite(a) || !std::isfinite(b) || !std::isfinite(x) || !std::isfinite(y))
        throw std::runtime_error(path + ":" + std::to_string(lineno) + ": non-finite value");
      d.score = float(s);
      d.x1 = float(a - 1.0);
      d.y1 = float(b - 1.0);
      d.x2 = float(x);
      d.y2 = float(y);
      out[c].push_back(std::move(d));
    }
  }
  return out;
}

void write_coco_detections(const std::string& path, const std::vector<std::string>& class_names,
                           const std::vector<std::vector<VocDetection>>& detections) {
  if (detections.size() != class_names.size())
    throw std::invalid_argument("write_coco_detections: " + std::to_string(detections.size()) +
                                " detection lists for " + std::to_string(class_names.size()) + " classes");
  nlohmann::ordered_json j = nlohmann::ordered_json::array();  // keys in COCO's order
  for (size_t c = 0; c < class_names.size(); ++c)
    for (const auto& d : detections[c]) {
      if (!std::isfinite(d.score) || !std::isfinite(d.x1) || !std::isfinite(d.y1) || !std::isfinite(d.x2) ||
          !std::isfinite(d.y2))
        throw std::invalid_argument("write_coco_detections: class '" + class_names[c] + "' image '" + d.image_id +
                                    "': non-finite score or coordinate");
      // Rounded as detect's JSON (docs/USAGE.md): bbox to 0.01 px, score to 1e-6.
      j.push_back({{"image_id", d.image_id},
                   {"category_id", static_cast<int>(c) + 1},
                   {"category_name", class_names[c]},
                   {"bbox", {round_decimals(d.x1, 2), round_decimals(d.y1, 2), round_decimals(double(d.x2) - d.x1, 2),
                             round_decimals(double(d.y2) - d.y1, 2)}},
                   {"score", round_decimals(d.score, 6)}});
    }
  write_file_atomic(path, dump_json(j, 1) + "\n");
}

void write_eval_json(const std::string& path, const VocEvalResult& result) {
  nlohmann::json j;
  j["metric"] = ap_metric_name(result.metric);
  j["iou_threshold"] = result.iou_threshold;
  j["map"] = result.map;
  j["num_classes_in_mean"] = static_cast<int>(result.classes.size() - result.excluded.size());
  j["excluded"] = result.excluded;
  nlohmann::json cls = nlohmann::json::array();
  for (const auto& r : result.classes) {
    nlohmann::json e;
    e["name"] = r.name;
    e["ap"] = r.excluded ? nlohmann::json(nullptr) : nlohmann::json(r.ap);
    e["num_gt"] = r.num_gt;
    e["num_difficult"] = r.num_difficult;
    e["num_detections"] = r.num_detections;
    e["tp"] = r.num_tp;
    e["fp"] = r.num_fp;
    e["ignored"] = r.num_ignored;
    e["excluded"] = r.excluded;
    cls.push_back(e);
  }
  j["classes"] = cls;
  write_file_atomic(path, j.dump(2) + "\n");
}

std::string format_ap_table(const VocEvalResult& result) {
  size_t w = 5;
  for (const auto& r : result.classes) w = std::max(w, r.name.size());
  std::ostringstream os;
  os << std::left << std::setw(int(w)) << "class" << std::right << std::setw(8) << "AP" << std::setw(7) << "GT"
     << std::setw(6) << "diff" << std::setw(8) << "dets" << std::setw(7) << "TP" << std::setw(7) << "FP" << "\n";
  os << std::string(w + 43, '-') << "\n";
  for (const auto& r : result.classes) {
    os << std::left << std::setw(int(w)) << r.name << std::right << std::setw(8);
    if (r.excluded)
      os << "-";
    else
      os << std::fixed << std::setprecision(4) << r.ap;
    os << std::setw(7) << r.num_gt << std::setw(6) << r.num_difficult << std::setw(8) << r.num_detections
       << std::setw(7) << r.num_tp << std::setw(7) << r.num_fp << "\n";
  }
  os << std::string(w + 43, '-') << "\n";
  const size_t n = result.classes.size() - result.excluded.size();
  os << std::left << std::setw(int(w)) << "mAP" << std::right << std::setw(8) << std::fixed << std::setprecision(4)
     << result.map << "  over " << n << " class" << (n == 1 ? "" : "es") << ", " << ap_metric_name(result.metric)
     << ", IoU > " << std::setprecision(2) << result.iou_threshold << "\n";
  if (!result.excluded.empty()) {
    os << "excluded (no non-difficult ground truth):";
    for (const auto& e : result.excluded) os << " " << e;
    os << "\n";
  }
  return os.str();
}

std::vector<std::string> write_pr_curves(const VocEvalResult& result, const std::string& out_dir) {
  std::filesystem::create_directories(out_dir);
  std::vector<std::string> paths;
  std::vector<PrCurve> all;
  for (const auto& r : result.classes) {
    if (r.excluded) continue;
    PrCurve c{r.name, r.recall, r.precision, r.ap};
    char title[160];
    std::snprintf(title, sizeof(title), "%s: AP %.4f (%s, %d GT, %d detections)", r.name.c_str(), r.ap,
                  ap_metric_name(result.metric).c_str(), r.num_gt, r.num_detections);
    paths.push_back((std::filesystem::path(out_dir) / ("pr_" + r.name + ".png")).string());
    save_image(paths.back(), render_pr_chart({c}, title, 640, 480));
    all.push_back(std::move(c));
  }
  char title[128];
  std::snprintf(title, sizeof(title), "Precision-recall, mAP %.4f (%s)", result.map,
                ap_metric_name(result.metric).c_str());
  paths.push_back((std::filesystem::path(out_dir) / "pr_all.png").string());
  save_image(paths.back(), render_pr_chart(all, title, all.size() > 6 ? 960 : 800, 560));
  return paths;
}

}  // namespace frcnn
