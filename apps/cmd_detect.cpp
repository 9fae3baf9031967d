// `frcnn detect`: runs a trained detector on image files, prints the detections and the
// per-image time split of the paper's Table 5 (conv, proposals, region-wise, total), and
// with --out writes <stem>.json and <stem>.png (boxes drawn) per image. Pipelined by
// default (decode workers, an upload stream on CUDA, a writer thread); --workers 0 runs
// one image at a time, with the same outputs.
#include <algorithm>
#include <array>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/run_setup.h"
#include "data/async_upload.h"
#include "data/draw.h"
#include "data/image.h"
#include "data/pinned.h"
#include "data/transforms.h"
#include "engine/log.h"
#include "engine/ordered_prefetch.h"
#include "engine/safetensors.h"
#include "engine/timer.h"
#include "train/json_dump.h"

namespace frcnn::cli {

namespace {

namespace fs = std::filesystem;

// Decode workers by default: the machine's threads, at most 8 (beyond that the decode is
// rarely the bottleneck of one detector).
int default_workers() { return int(std::clamp(std::thread::hardware_concurrency(), 1u, 8u)); }

struct DetectOptions {
  RunOptions run;
  std::string weights;
  std::string out;
  float score_threshold = -1.f;  // < 0: the config's model.test.score_threshold
  int workers = default_workers();  // decode threads; 0: one image at a time, no threads
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

// One input, decoded and preprocessed by a decode worker.
struct Prepared {
  Image img;
  Tensor x;                            // (1, 3, H, W) F32, CPU
  float scale = 1.f;
  std::shared_ptr<HostBlock> staged;   // page-locked copy of x, for the upload (CUDA)
  double prep_ms = 0;                  // decode + resize + normalise, in the worker
};

// An input on its way to the detector: decoded, its upload queued (pipelined on CUDA).
struct Staged {
  std::optional<Prepared> p;
  AsyncUploader::Upload up;            // the image on the detector's device
  std::string error;                   // decode failed: the message
};

// Runs the output writing (JSON, PNG) in order, on a thread of its own when pipelined,
// else right away; errors are logged naming the file and collected.
class OutputWriter {
 public:
  explicit OutputWriter(bool threaded) {
    if (threaded) thread_ = std::thread([this] { loop(); });
  }
  ~OutputWriter() { finish(); }
  void submit(std::string path, std::function<void()> job) {
    if (!thread_.joinable()) return run(path, job);
    std::unique_lock<std::mutex> l(mu_);
    room_.wait(l, [&] { return jobs_.size() < kMaxQueued; });  // bounded: images are big
    jobs_.emplace_back(std::move(path), std::move(job));
    l.unlock();
    ready_.notify_one();
  }
  // Waits for every job; the inputs whose outputs could not be written.
  std::vector<std::string> finish() {
    if (thread_.joinable()) {
      {
        std::lock_guard<std::mutex> l(mu_);
        done_ = true;
      }
      ready_.notify_one();
      thread_.join();
    }
    return failed_;
  }

 private:
  static constexpr size_t kMaxQueued = 4;
  void run(const std::string& path, const std::function<void()>& job) {
    try {
      job();
    } catch (const std::exception& e) {
      std::string msg = e.what();
      if (msg.find(path) == std::string::npos) msg = path + ": " + msg;
      log_error(msg);
      std::lock_guard<std::mutex> l(failed_mu_);
      failed_.push_back(path);
    }
  }
  void loop() {
    for (;;) {
      std::unique_lock<std::mutex> l(mu_);
      ready_.wait(l, [&] { return done_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      auto [path, job] = std::move(jobs_.front());
      jobs_.pop_front();
      l.unlock();
      room_.notify_one();
      run(path, job);
    }
  }
  std::thread thread_;
  std::mutex mu_, failed_mu_;
  std::condition_variable ready_, room_;
  std::deque<std::pair<std::string, std::function<void()>>> jobs_;
  bool done_ = false;
  std::vector<std::string> failed_;
};

// <stem>.json and <stem>.png of one image (the PNG: `img` with the boxes drawn).
void write_outputs(const fs::path& out, const std::string& stem, const std::string& path, Image img, int input_w,
                   int input_h, float scale, const std::string& device, float score_threshold,
                   const DetectResult& r, double prep_ms, const std::vector<OneDetection>& dets,
                   const std::vector<std::string>& classes) {
  // Keys in a reading order; values rounded so the file stays readable (boxes to
  // 0.01 px, scores to 1e-6, times to 1 us; round_decimals and dump_json, so 12.34 is
  // written as 12.34, not 12.340000000000002).
  auto r2 = [](double v, double q) { return round_decimals(v, int(std::lround(-std::log10(q)))); };
  nlohmann::ordered_json j;
  j["image"] = path;
  j["width"] = img.width;
  j["height"] = img.height;
  j["input_width"] = input_w;
  j["input_height"] = input_h;
  j["scale"] = r2(scale, 1e-6);
  j["device"] = device;
  j["score_threshold"] = r2(score_threshold, 1e-6);
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
  write_file_atomic((out / (stem + ".json")).string(), dump_json(j, 2) + "\n");

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
  save_image((out / (stem + ".png")).string(), img);
}

void run_detect(DetectOptions& o) {
  if (o.score_threshold >= 0.f) o.run.sets.push_back(str_cat("model.test.score_threshold=", o.score_threshold));
  o.run.model = o.weights;
  Run run = start_run(o.run, o.out);
  Detector det = load_detector(run, o.weights);
  Context& ctx = *run.ctx;
  const Config& cfg = run.cfg;
  const auto& classes = cfg.model.classes;
  const bool pipelined = o.workers > 0;
  log_info(str_cat("detect: ", o.images.size(), " image(s), input ", cfg.input.scale, "/", cfg.input.max_size,
                   ", score >= ", cfg.model.test.score_threshold, ", at most ", cfg.model.test.max_per_image,
                   " per image; ",
                   pipelined ? str_cat("pipelined (", o.workers, " decode worker(s)",
                                       ctx.is_cuda() ? ", uploads on their own stream" : "",
                                       o.out.empty() ? "" : ", outputs written on their own thread", ")")
                             : std::string("one image at a time")));

  // Decode -> upload -> detect -> write: each image's decode runs on a worker ahead of
  // the detector, its upload is queued on the upload stream before the previous image's
  // detect() so the copy overlaps that image's GPU work, and its outputs are written on
  // the writer thread while the next image is detected. Results are the same in order
  // and in bits as one image at a time (--workers 0).
  std::shared_ptr<PinnedPool> pinned = ctx.is_cuda() && pipelined ? PinnedPool::create(true) : nullptr;
  OrderedPrefetch<Prepared> decoded(
      o.images.size(),
      [&](size_t i) {
        WallTimer prep;
        Prepared p;
        p.img = load_image(o.images[i]);  // throws "<path>: cannot decode image (...)"
        p.x = prepare_image(p.img, cfg.input.scale, cfg.input.max_size, det.convention, &p.scale);
        if (pinned) {
          p.staged = pinned->acquire(p.x.nbytes());
          std::memcpy(p.staged->data, p.x.raw_data(), p.x.nbytes());
        }
        p.prep_ms = prep.millis();
        return p;
      },
      o.workers, 2 * std::max(1, o.workers));
  std::optional<AsyncUploader> uploader;
  if (pipelined) uploader.emplace(ctx);
  auto stage = [&]() {
    Staged st;
    try {
      st.p = decoded.next();
    } catch (const std::exception& e) {
      st.error = e.what();
      return st;
    }
    if (uploader)
      st.up = uploader->start(st.p->x, st.p->staged);
    else
      st.up.image = st.p->x.to(ctx.device(), ctx.stream());
    return st;
  };

  OutputWriter writer(pipelined && !o.out.empty());
  std::set<std::string> stems;
  std::vector<DetectTiming> times;
  std::vector<std::string> failed;
  WallTimer wall;
  std::optional<Staged> ahead;
  for (size_t i = 0; i < o.images.size(); ++i) {
    const std::string& path = o.images[i];
    Staged cur = ahead ? std::move(*ahead) : stage();
    ahead.reset();
    if (pipelined && i + 1 < o.images.size()) ahead = stage();  // its upload overlaps this detect
    try {
      if (!cur.error.empty()) throw std::runtime_error(cur.error);
      Prepared& p = *cur.p;
      DetectResult r = det.model->detect(ctx, AsyncUploader::ready(cur.up, ctx), p.scale);
      times.push_back(r.timing);

      const std::vector<float> b = r.boxes.to_vector<float>();
      const std::vector<float> s = r.scores.to_vector<float>();
      const std::vector<int32_t> l = r.labels.to_vector<int32_t>();
      std::vector<OneDetection> dets;
      for (size_t k = 0; k < s.size(); ++k) {
        OneDetection d;
        d.label = l[k];
        d.cls = (l[k] >= 1 && size_t(l[k]) <= classes.size()) ? classes[l[k] - 1] : "?";
        d.score = s[k];
        // Back-scaled boxes can overshoot the original size by a fraction of a pixel.
        d.box = {std::clamp(b[4 * k], 0.f, float(p.img.width)), std::clamp(b[4 * k + 1], 0.f, float(p.img.height)),
                 std::clamp(b[4 * k + 2], 0.f, float(p.img.width)),
                 std::clamp(b[4 * k + 3], 0.f, float(p.img.height))};
        dets.push_back(d);
      }

      std::printf("%s  %dx%d (input %lldx%lld, scale %.3f): %zu detection(s), %d proposals | conv %.1f ms, "
                  "proposals %.1f ms, region-wise %.1f ms, total %.1f ms (decode+resize %.1f ms)\n",
                  path.c_str(), p.img.width, p.img.height, static_cast<long long>(p.x.size(3)),
                  static_cast<long long>(p.x.size(2)), p.scale, dets.size(), r.num_proposals, r.timing.conv_ms,
                  r.timing.proposals_ms, r.timing.region_ms, r.timing.total_ms, p.prep_ms);
      for (const auto& d : dets)
        std::printf("  %-14s %.3f  [%.1f, %.1f, %.1f, %.1f]\n", d.cls.c_str(), d.score, d.box[0], d.box[1], d.box[2],
                    d.box[3]);
      std::fflush(stdout);

      if (!o.out.empty()) {
        const std::string stem = unique_stem(path, stems);
        const int iw = int(p.x.size(3)), ih = int(p.x.size(2));
        writer.submit(path, [&, stem, path, iw, ih, scale = p.scale, prep_ms = p.prep_ms, img = std::move(p.img),
                             r = std::move(r), dets = std::move(dets)]() mutable {
          write_outputs(o.out, stem, path, std::move(img), iw, ih, scale, ctx.device().str(),
                        cfg.model.test.score_threshold, r, prep_ms, dets, classes);
        });
      }
    } catch (const std::exception& e) {
      std::string msg = e.what();
      if (msg.find(path) == std::string::npos) msg = path + ": " + msg;
      log_error(msg);
      failed.push_back(path);
    }
  }
  for (const std::string& f : writer.finish()) failed.push_back(f);
  const double wall_s = wall.seconds();

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
    std::printf("whole run: %zu image(s) in %.2f s, %.2f images/s end to end (decode, detect%s)\n", o.images.size(),
                wall_s, double(o.images.size()) / std::max(wall_s, 1e-9), o.out.empty() ? "" : ", outputs");
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
  cmd->add_option("--workers", o->workers,
                  "decode threads ahead of the detector (uploads and output writing are pipelined too); "
                  "0: decode, detect and write one image at a time")
      ->capture_default_str()
      ->check(CLI::Range(0, 64));
  cmd->add_option("images", o->images, "image files (JPEG, PNG, ...)")->required();
  cmd->callback([o] { run_detect(*o); });
}

}  // namespace frcnn::cli
