// `frcnn detect`: runs a trained detector on image files, prints the detections and the
// per-image time split of the paper's Table 5 (conv, proposals, region-wise, total), and
// with --out writes <stem>.json and <stem>.png (boxes drawn) per image.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/run_setup.h"
#include "data/draw.h"
#include "data/image.h"
#include "data/transforms.h"
#include "engine/log.h"
#include "engine/safetensors.h"
#include "engine/timer.h"
#include "train/json_dump.h"

namespace frcnn::cli {

namespace {

namespace fs = std::filesystem;

struct DetectOptions {
  RunOptions run;
  std::string weights;
  std::string out;
  float score_threshold = -1.f;  // < 0: the config's model.test.score_threshold
  std::vector<std::string> images;
};

struct OneDetection {
  std::string cls;
  int label = 0;
  float score = 0.f;
  std::array<float, 4> box{};  // original-image pixels, our continuous convention
};

// A file stem not used yet in this run ("img", then "img_2", ...), so two inputs with the
// same name in different folders do not overwrite each other's outputs.
std::string unique_stem(const std::string& path, std::set<std::string>& used) {
  std::string stem = fs::path(path).stem().string();
  if (stem.empty()) stem = "image";
  std::string s = stem;
  for (int k = 2; used.count(s); ++k) s = stem + "_" + std::to_string(k);
  if (s != stem) log_warn(str_cat(path, ": another input has the stem '", stem, "'; its outputs are named ", s, ".*"));
  used.insert(s);
  return s;
}

void run_detect(DetectOptions& o) {
  if (o.score_threshold >= 0.f) o.run.sets.push_back(str_cat("model.test.score_threshold=", o.score_threshold));
  o.run.model = o.weights;
  Run run = start_run(o.run, o.out);
  Detector det = load_detector(run, o.weights);
  Context& ctx = *run.ctx;
  const Config& cfg = run.cfg;
  const auto& classes = cfg.model.classes;
  log_info(str_cat("detect: ", o.images.size(), " image(s), input ", cfg.input.scale, "/", cfg.input.max_size,
                   ", score >= ", cfg.model.test.score_threshold, ", at most ", cfg.model.test.max_per_image,
                   " per image"));

  std::set<std::string> stems;
  std::vector<DetectTiming> times;
  std::vector<std::string> failed;
  for (const std::string& path : o.images) {
    try {
      WallTimer prep;
      Image img = load_image(path);  // throws "<path>: cannot decode image (...)"
      float scale = 1.f;
      Tensor x = prepare_image(img, cfg.input.scale, cfg.input.max_size, det.convention, &scale);
      Tensor xd = x.to(ctx.device(), ctx.stream());
      ctx.synchronize();
      const double prep_ms = prep.millis();
      DetectResult r = det.model->detect(ctx, xd, scale);
      times.push_back(r.timing);

      const std::vector<float> b = r.boxes.to_vector<float>();
      const std::vector<float> s = r.scores.to_vector<float>();
      const std::vector<int32_t> l = r.labels.to_vector<int32_t>();
      std::vector<OneDetection> dets;
      for (size_t i = 0; i < s.size(); ++i) {
        OneDetection d;
        d.label = l[i];
        d.cls = (l[i] >= 1 && size_t(l[i]) <= classes.size()) ? classes[l[i] - 1] : "?";
        d.score = s[i];
        // Back-scaled boxes can overshoot the original size by a fraction of a pixel.
        d.box = {std::clamp(b[4 * i], 0.f, float(img.width)), std::clamp(b[4 * i + 1], 0.f, float(img.height)),
                 std::clamp(b[4 * i + 2], 0.f, float(img.width)), std::clamp(b[4 * i + 3], 0.f, float(img.height))};
        dets.push_back(d);
      }

      std::printf("%s  %dx%d (input %lldx%lld, scale %.3f): %zu detection(s), %d proposals | conv %.1f ms, "
                  "proposals %.1f ms, region-wise %.1f ms, total %.1f ms (decode+resize %.1f ms)\n",
                  path.c_str(), img.width, img.height, static_cast<long long>(x.size(3)),
                  static_cast<long long>(x.size(2)), scale, dets.size(), r.num_proposals, r.timing.conv_ms,
                  r.timing.proposals_ms, r.timing.region_ms, r.timing.total_ms, prep_ms);
      for (const auto& d : dets)
        std::printf("  %-14s %.3f  [%.1f, %.1f, %.1f, %.1f]\n", d.cls.c_str(), d.score, d.box[0], d.box[1], d.box[2],
                    d.box[3]);
      std::fflush(stdout);

      if (!o.out.empty()) {
        const std::string stem = unique_stem(path, stems);
        // Keys in a reading order; values rounded so the file stays readable (boxes to
        // 0.01 px, scores to 1e-6, times to 1 us; round_decimals and dump_json, so 12.34 is
        // written as 12.34, not 12.340000000000002).
        auto r2 = [](double v, double q) { return round_decimals(v, int(std::lround(-std::log10(q)))); };
        nlohmann::ordered_json j;
        j["image"] = path;
        j["width"] = img.width;
        j["height"] = img.height;
        j["input_width"] = x.size(3);
        j["input_height"] = x.size(2);
        j["scale"] = r2(scale, 1e-6);
        j["device"] = ctx.device().str();
        j["score_threshold"] = r2(cfg.model.test.score_threshold, 1e-6);
        j["num_proposals"] = r.num_proposals;
        j["timing_ms"] = {{"conv", r2(r.timing.conv_ms, 1e-3)},
                          {"proposals", r2(r.timing.proposals_ms, 1e-3)},
                          {"region", r2(r.timing.region_ms, 1e-3)},
                          {"total", r2(r.timing.total_ms, 1e-3)},
                          {"decode_resize", r2(prep_ms, 1e-3)}};
        j["detections"] = nlohmann::ordered_json::array();
        for (const auto& d : dets)
          j["detections"].push_back({{"class", d.cls},
                                     {"label", d.label},
                                     {"score", r2(d.score, 1e-6)},
                                     {"box", {r2(d.box[0], 0.01), r2(d.box[1], 0.01), r2(d.box[2], 0.01),
                                              r2(d.box[3], 0.01)}}});
        write_file_atomic((fs::path(o.out) / (stem + ".json")).string(), dump_json(j, 2) + "\n");

        std::vector<std::array<float, 4>> boxes;
        std::vector<int> labels;
        std::vector<float> scores;
        for (const auto& d : dets) {
          boxes.push_back(d.box);
          labels.push_back(d.label - 1);  // draw_detections indexes class_names
          scores.push_back(d.score);
        }
        DetectionDrawOptions dopt;
        const int side = std::min(img.width, img.height);
        dopt.thickness = std::max(2, side / 250);
        dopt.text_scale = std::max(1, side / 400);
        draw_detections(img, boxes, labels, scores, classes, dopt);
        save_image((fs::path(o.out) / (stem + ".png")).string(), img);
      }
    } catch (const std::exception& e) {
      std::string msg = e.what();
      if (msg.find(path) == std::string::npos) msg = path + ": " + msg;
      log_error(msg);
      failed.push_back(path);
    }
  }

  if (!times.empty()) {
    // Means leave out the first image: it pays for CUDA/cuBLAS/cuDNN set-up and the
    // allocator's first allocations.
    const size_t skip = times.size() > 1 ? 1 : 0;
    DetectTiming m;
    for (size_t i = skip; i < times.size(); ++i) {
      m.conv_ms += times[i].conv_ms;
      m.proposals_ms += times[i].proposals_ms;
      m.region_ms += times[i].region_ms;
      m.total_ms += times[i].total_ms;
    }
    const double n = double(times.size() - skip);
    std::printf("mean over %zu image(s)%s on %s: conv %.1f ms, proposals %.1f ms, region-wise %.1f ms, "
                "total %.1f ms, %.2f fps\n",
                times.size() - skip,
                skip ? " (first image, the warm-up, excluded)" : " (includes the warm-up: give more images)",
                ctx.device().str().c_str(), m.conv_ms / n, m.proposals_ms / n, m.region_ms / n, m.total_ms / n,
                1000.0 * n / std::max(m.total_ms, 1e-9));
  }
  if (!o.out.empty()) log_info("detect: outputs in " + o.out + " (<stem>.json, <stem>.png)");
  if (!failed.empty()) {
    std::string list;
    for (const auto& f : failed) list += (list.empty() ? "" : ", ") + f;
    throw std::runtime_error(str_cat("detect: ", failed.size(), " of ", o.images.size(), " image(s) failed: ", list));
  }
}

}  // namespace

void add_detect_command(CLI::App& app) {
  auto o = std::make_shared<DetectOptions>();
  auto* cmd = app.add_subcommand("detect", "Detect objects in images with a trained model; print, draw, time them");
  add_run_options(cmd, o->run, /*for_model=*/true);
  cmd->add_option("--weights,-w", o->weights, "trained detector (.safetensors written by frcnn train)")->required();
  cmd->add_option("--out,-o", o->out, "write <stem>.json and <stem>.png per image into this folder");
  cmd->add_option("--score-threshold", o->score_threshold,
                  "report detections scoring at least this (overrides model.test.score_threshold)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("images", o->images, "image files (JPEG, PNG, ...)")->required();
  cmd->callback([o] { run_detect(*o); });
}

}  // namespace frcnn::cli
