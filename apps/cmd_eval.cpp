// `frcnn eval`: VOC evaluation of a trained detector over a split (train/evaluate.h), or
// re-scoring of devkit result files written earlier (--from-results), without the model.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/run_setup.h"
#include "engine/log.h"
#include "train/evaluate.h"

namespace frcnn::cli {

namespace {

struct EvalOptions {
  RunOptions run;
  std::string weights;
  std::string data;
  std::string split;
  std::string out;
  std::string metric = "voc07";
  int max_images = 0;
  std::string from_results;
};

// With --from-results and no --max-images, the earlier run's eval.json says how many
// images (the first N of the split) it evaluated, so the ground truth matches.
int images_of_earlier_run(const std::string& dir, const std::string& split) {
  const auto path = std::filesystem::path(dir) / "eval.json";
  std::ifstream in(path);
  if (!in) return 0;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw std::runtime_error(path.string() + ": not valid JSON: " + e.what());
  }
  if (!j.contains("num_images") || !j["num_images"].is_number_integer()) return 0;
  if (j.contains("split") && j["split"].is_string() && j["split"].get<std::string>() != split)
    throw std::runtime_error(path.string() + ": the results are for split '" + j["split"].get<std::string>() +
                             "', not '" + split + "' (pass --split)");
  const int n = j["num_images"].get<int>();
  log_info(str_cat("--from-results: ", path.string(), " says the run evaluated the first ", n,
                   " images of the split; using the same ground truth"));
  return n;
}

void run_eval(EvalOptions& o) {
  if (!o.data.empty()) o.run.sets.push_back("data.root=" + o.data);
  if (!o.split.empty()) o.run.sets.push_back("data.test_split=" + o.split);
  const ApMetric metric = parse_ap_metric(o.metric);

  if (!o.from_results.empty()) {
    // No model, no device: only the config (classes, data root, split) is needed.
    if (!o.weights.empty()) log_warn("eval: --from-results re-scores files; --weights " + o.weights + " is not used");
    // The earlier run's effective config (start_run wrote it) knows the classes and the data.
    RunOptions ro = o.run;
    const auto earlier = std::filesystem::path(o.from_results) / "config.yaml";
    if (ro.config.empty() && std::filesystem::exists(earlier)) {
      ro.config = earlier.string();
      log_info("--from-results: using the earlier run's config " + ro.config);
    }
    Config cfg = load_run_config(ro);
    if (cfg.data.root.empty()) throw std::invalid_argument("eval: data.root is empty (set it or pass --data)");
    OutputFolderLock lock(o.out);  // creates it, removes dead runs' temp files
    const std::string split = cfg.data.test_split;
    int n = o.max_images > 0 ? o.max_images : images_of_earlier_run(o.from_results, split);
    VocDataset ds(cfg.data.root, split, cfg.model.classes, VocOptions{});
    auto gt = voc_ground_truth(ds, n > 0 ? size_t(n) : ds.size());
    log_info(str_cat("eval: re-scoring ", o.from_results, "/results against ", gt.size(), " images of ",
                     cfg.data.root, " split '", split, "'"));
    EvalSummary s = evaluate_results(cfg.model.classes, gt, o.from_results, split, o.out, metric);
    log_info(str_cat("eval: mAP ", s.map, " (", ap_metric_name(metric), "); files in ", o.out));
    return;
  }

  if (o.weights.empty()) throw std::invalid_argument("eval: --weights is required (or --from-results DIR)");
  o.run.model = o.weights;
  Run run = start_run(o.run, o.out);
  Detector d = load_detector(run, o.weights);
  evaluate_split(*run.ctx, *d.model, run.cfg, d.convention, run.cfg.data.test_split, o.out, metric, o.max_images);
  log_info(str_cat("eval: files in ", o.out, " (results/, detections.json, eval.json, pr_*.png)"));
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  auto* cmd = app.add_subcommand("eval", "VOC mAP of a trained detector over a split (or re-score result files)");
  add_run_options(cmd, o->run, /*for_model=*/true);
  cmd->add_option("--weights,-w", o->weights, "trained detector (.safetensors written by frcnn train)");
  cmd->add_option("--data", o->data, "VOC root (overrides data.root)");
  cmd->add_option("--split", o->split, "ImageSets/Main split (overrides data.test_split, default test)");
  cmd->add_option("--out,-o", o->out, "output folder: results/, detections.json, eval.json, pr_*.png")->required();
  cmd->add_option("--metric", o->metric, "voc07 (11-point, the VOC2007 test metric) or voc2010 (area)")
      ->capture_default_str();
  cmd->add_option("--max-images", o->max_images, "evaluate only the first N images of the split (0: all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--from-results", o->from_results,
                  "re-score DIR/results/comp4_det_<split>_<class>.txt (an earlier --out) without running the model");
  cmd->callback([o] { run_eval(*o); });
}

}  // namespace frcnn::cli
