#include "train/evaluate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "data/async_upload.h"
#include "data/loader.h"
#include "engine/log.h"
#include "engine/safetensors.h"
#include "engine/timer.h"

namespace frcnn {

namespace {

std::string fmt_seconds(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long t = std::lround(s);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

}  // namespace

void require_ground_truth(const std::vector<VocGtImage>& ground_truth, const std::string& what) {
  size_t objects = 0;
  for (const auto& g : ground_truth)
    for (size_t k = 0; k < g.difficult.size(); ++k) objects += g.difficult[k] ? 0 : 1;
  if (objects == 0)
    throw std::runtime_error(str_cat(
        what, ": the ", ground_truth.size(), " image(s) to evaluate hold no non-difficult object of the model's ",
        "classes, so mAP is not defined (is it the right split? do model.classes name the dataset's classes?)"));
}

std::vector<VocGtImage> voc_ground_truth(const VocDataset& ds, size_t count) {
  count = std::min(count, ds.size());
  std::vector<VocGtImage> gt(count);
  for (size_t i = 0; i < count; ++i) {
    const VocRecord& r = ds.record(i);
    gt[i].image_id = r.id;
    for (const VocObject& o : r.objects) {
      gt[i].boxes.push_back({o.x1, o.y1, o.x2, o.y2});
      gt[i].labels.push_back(o.label - 1);  // VocObject labels are 1..K; the evaluation indexes class_names
      gt[i].difficult.push_back(o.difficult);
    }
  }
  return gt;
}

void append_detections(std::vector<std::vector<VocDetection>>& per_class, const std::string& image_id,
                       const Tensor& boxes, const Tensor& scores, const Tensor& labels, int width, int height) {
  const int64_t D = scores.numel();
  if (boxes.numel() != D * 4 || labels.numel() != D)
    throw std::invalid_argument(str_cat("append_detections(", image_id, "): boxes ", shape_str(boxes.shape()),
                                        ", scores ", shape_str(scores.shape()), ", labels ",
                                        shape_str(labels.shape()), " disagree"));
  if (D == 0) return;
  const std::vector<float> b = boxes.to_vector<float>();
  const std::vector<float> s = scores.to_vector<float>();
  const std::vector<int32_t> l = labels.to_vector<int32_t>();
  const float W = float(width), H = float(height);
  for (int64_t i = 0; i < D; ++i) {
    const int c = l[i] - 1;  // detections use 1..K (0 is background)
    if (c < 0 || c >= static_cast<int>(per_class.size()))
      throw std::invalid_argument(str_cat("append_detections(", image_id, "): label ", l[i], " outside 1..",
                                          per_class.size()));
    // The model clips to the resized image; dividing by the scale can overshoot the
    // original size by a fraction of a pixel.
    VocDetection d;
    d.image_id = image_id;
    d.score = s[i];
    d.x1 = std::clamp(b[4 * i + 0], 0.f, W);
    d.y1 = std::clamp(b[4 * i + 1], 0.f, H);
    d.x2 = std::clamp(b[4 * i + 2], 0.f, W);
    d.y2 = std::clamp(b[4 * i + 3], 0.f, H);
    per_class[c].push_back(d);
  }
}

void write_eval_summary_json(const std::string& path, const EvalSummary& s, const std::string& split) {
  write_eval_json(path, s.result);
  std::ifstream in(path);
  nlohmann::json j = nlohmann::json::parse(in);
  j["split"] = split;
  j["num_images"] = s.num_images;
  j["images_failed"] = s.images_failed;
  j["num_detections"] = s.num_detections;
  if (s.seconds > 0) {
    j["seconds"] = s.seconds;
    j["mean_detect_ms"] = s.mean_detect_ms;
    j["mean_timing_ms"] = {{"conv", s.mean_timing.conv_ms},
                           {"proposals", s.mean_timing.proposals_ms},
                           {"region", s.mean_timing.region_ms},
                           {"total", s.mean_timing.total_ms}};
  }
  write_file_atomic(path, j.dump(2) + "\n");
}

EvalSummary evaluate_results(const std::vector<std::string>& class_names,
                             const std::vector<VocGtImage>& ground_truth, const std::string& results_dir,
                             const std::string& split, const std::string& out_dir, ApMetric metric) {
  namespace fs = std::filesystem;
  fs::create_directories(out_dir);
  require_ground_truth(ground_truth, "split '" + split + "'");
  const auto dets = read_voc_results(results_dir, split, class_names);
  EvalSummary s;
  s.out_dir = out_dir;
  s.num_images = static_cast<int>(ground_truth.size());
  for (const auto& d : dets) s.num_detections += static_cast<int>(d.size());
  s.result = voc_evaluate(class_names, dets, ground_truth, metric);
  s.map = s.result.map;
  write_coco_detections((fs::path(out_dir) / "detections.json").string(), class_names, dets);
  write_eval_summary_json((fs::path(out_dir) / "eval.json").string(), s, split);
  write_pr_curves(s.result, out_dir);
  std::fputs(format_ap_table(s.result).c_str(), stdout);
  std::fflush(stdout);
  return s;
}

EvalSummary score_detections(const std::vector<std::string>& class_names,
                             const std::vector<std::vector<VocDetection>>& detections,
                             const std::vector<VocGtImage>& ground_truth, const std::string& split,
                             const std::string& out_dir, ApMetric metric) {
  write_voc_results(out_dir, split, class_names, detections);
  return evaluate_results(class_names, ground_truth, out_dir, split, out_dir, metric);
}

EvalSummary evaluate_split(Context& ctx, FasterRCNN& model, const Config& cfg, const InputConvention& conv,
                           const std::string& split, const std::string& out_dir, ApMetric metric, int max_images) {
  if (cfg.data.root.empty()) throw std::invalid_argument("evaluate: data.root is empty (set it or pass --data)");
  if (max_images < 0) throw std::invalid_argument(str_cat("evaluate: max_images ", max_images, " < 0"));
  const auto& classes = cfg.model.classes;
  VocOptions vo;
  vo.keep_difficult = true;
  VocDataset ds(cfg.data.root, split, classes, vo);
  if (ds.size() == 0)
    throw std::runtime_error(cfg.data.root + ": split '" + split + "' has no readable images to evaluate");
  const size_t total = max_images > 0 ? std::min<size_t>(ds.size(), size_t(max_images)) : ds.size();
  std::vector<VocGtImage> gt = voc_ground_truth(ds, total);
  require_ground_truth(gt, cfg.data.root + " split '" + split + "'");  // before any detection

  LoaderOptions lo = LoaderOptions::evaluation(cfg.input.scale, cfg.input.max_size);
  lo.convention = conv;
  lo.count = static_cast<int64_t>(total);
  lo.prefetch = std::max(lo.prefetch, cfg.data.prefetch);  // the evaluation default keeps every worker busy
  Loader loader(ds, lo);

  log_info(str_cat("evaluate: ", total, " images of ", cfg.data.root, " split '", split, "' on ", ctx.device().str(),
                   ", input ", cfg.input.scale, "/", cfg.input.max_size, ", ", ap_metric_name(metric)));
  model.set_training(false);
  std::vector<std::vector<VocDetection>> dets(classes.size());
  const size_t step = std::max<size_t>(1, std::min<size_t>(20, (total + 9) / 10));
  WallTimer wall;
  size_t done = 0, decoded = 0;
  DetectTiming sum, first;
  // Decode (the loader's workers) -> upload -> detect: on a GPU the next image's copy is
  // queued on a stream of its own before this image's detect(), so it overlaps the GPU work.
  AsyncUploader uploader(ctx);
  struct InFlight {
    Sample sample;
    AsyncUploader::Upload up;
  };
  auto fetch = [&]() -> std::optional<InFlight> {
    std::optional<Sample> s = loader.next();
    if (!s) return std::nullopt;
    AsyncUploader::Upload up = uploader.start(s->image, s->staged);
    return InFlight{std::move(*s), std::move(up)};
  };
  std::optional<InFlight> next = fetch();
  while (next) {
    InFlight cur = std::move(*next);
    next = fetch();
    const Sample* sample = &cur.sample;
    const uint64_t pos = sample->position;
    DetectResult r = model.detect(ctx, AsyncUploader::ready(cur.up, ctx), sample->scale);
    append_detections(dets, sample->id, r.boxes, r.scores, r.labels, sample->orig_width, sample->orig_height);
    if (decoded == 0) first = r.timing;
    sum.conv_ms += r.timing.conv_ms;
    sum.proposals_ms += r.timing.proposals_ms;
    sum.region_ms += r.timing.region_ms;
    sum.total_ms += r.timing.total_ms;
    ++decoded;
    // Skipped (undecodable) images consume positions too: pos + 1 positions are done.
    const size_t now = static_cast<size_t>(pos + 1);
    if (now / step != done / step || now == total) {
      const double el = wall.seconds(), rate = now / std::max(el, 1e-9);
      log_info(str_cat("evaluate: ", now, "/", total, " images, ", std::fixed, std::setprecision(2), rate,
                       " images/s, elapsed ", fmt_seconds(el), ", ETA ", fmt_seconds((total - now) / rate)));
    }
    done = now;
  }
  EvalSummary s0;
  s0.seconds = wall.seconds();
  s0.images_failed = static_cast<int>(total - decoded);
  if (s0.images_failed > 0)
    log_warn(str_cat("evaluate: ", s0.images_failed, " of ", total,
                     " images could not be read (named above); their objects count as missed"));
  if (decoded > 1) {  // leave the warm-up image out of the means
    sum.conv_ms -= first.conv_ms;
    sum.proposals_ms -= first.proposals_ms;
    sum.region_ms -= first.region_ms;
    sum.total_ms -= first.total_ms;
  }
  const double n = decoded > 1 ? double(decoded - 1) : double(std::max<size_t>(decoded, 1));
  s0.mean_timing = {sum.conv_ms / n, sum.proposals_ms / n, sum.region_ms / n, sum.total_ms / n};
  s0.mean_detect_ms = s0.mean_timing.total_ms;

  EvalSummary s = score_detections(classes, dets, gt, split, out_dir, metric);
  s.seconds = s0.seconds;
  s.images_failed = s0.images_failed;
  s.mean_timing = s0.mean_timing;
  s.mean_detect_ms = s0.mean_detect_ms;
  write_eval_summary_json((std::filesystem::path(out_dir) / "eval.json").string(), s, split);
  log_info(str_cat("evaluate: mAP ", std::fixed, std::setprecision(4), s.map, " (", ap_metric_name(metric), ") over ",
                   total, " images in ", fmt_seconds(s.seconds), "; detect ", std::setprecision(1),
                   s.mean_detect_ms, " ms/image (conv ", s.mean_timing.conv_ms, ", proposals ",
                   s.mean_timing.proposals_ms, ", region-wise ", s.mean_timing.region_ms, ")",
                   decoded > 1 ? ", warm-up image excluded" : ", includes warm-up"));
  return s;
}

}  // namespace frcnn
