// End-to-end benchmark (see bench_e2e.h for what is timed and how).
#include "train/bench_e2e.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "data/input_convention.h"
#include "engine/allocator.h"
#include "engine/context.h"
#include "engine/device_counters.h"
#include "engine/log.h"
#include "engine/rng.h"
#include "engine/timer.h"
#include "kernels/conv2d_onednn.h"
#include "layers/faster_rcnn.h"
#include "train/sgd.h"

namespace frcnn {

TimeStats time_stats(std::vector<double> v) {
  TimeStats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.count = static_cast<int>(v.size());
  const size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / double(n);
  s.min = v.front();
  s.max = v.back();
  return s;
}

void parse_size(const std::string& text, int& height, int& width) {
  int h = 0, w = 0;
  char x = 0, extra = 0;
  if (std::sscanf(text.c_str(), "%d%c%d%c", &h, &x, &w, &extra) != 3 || (x != 'x' && x != 'X') || h < 32 || w < 32)
    throw std::invalid_argument("--size '" + text + "': expected HxW with both sides >= 32, e.g. 600x1000");
  height = h;
  width = w;
}

namespace {

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string cpu_name() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto p = line.find(':');
      if (p != std::string::npos) return line.substr(line.find_first_not_of(' ', p + 1));
    }
  }
  return "unknown CPU";
}

std::string device_name(const Device& d) {
  if (d.is_cpu())
    return str_cat("cpu: ", cpu_name(), " (", std::thread::hardware_concurrency(), " hardware threads)");
  for (const GpuInfo& g : list_gpus())
    if (g.index == d.index) return str_cat(d.str(), " ", g.name, " (sm_", g.cc_major, g.cc_minor, ")");
  return d.str();
}

std::string build_string() {
  std::string s = str_cat("frcnn ", FRCNN_VERSION);
#if FRCNN_WITH_CUDA
  s += str_cat(", CUDA sm_", FRCNN_CUDA_ARCHS);
#if FRCNN_WITH_CUDNN
  s += ", cuDNN";
#else
  s += ", no cuDNN";
#endif
#else
  s += ", CPU only";
#endif
  return s + ", BLAS (CPU GEMM)";
}

// Peak memory of the phase that began with reset_memory_peak().
void reset_memory_peak(const Device& d) {
  if (!d.is_cuda()) return;  // ru_maxrss cannot be reset
  if (auto* c = dynamic_cast<CachingAllocator*>(&default_allocator(d))) c->reset_peak();
}

PeakMemory memory_peak(const Device& d) {
  PeakMemory m;
  if (d.is_cuda()) {
    m.mib = double(cuda_allocator_stats(d.index).peak_bytes_in_use) / (1 << 20);
    m.kind = "cuda_allocator_peak_in_use";
  } else {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    m.mib = double(ru.ru_maxrss) / 1024.0;  // Linux: KiB
    m.kind = "process_peak_rss";
  }
  return m;
}

// A preprocessed image (1, 3, H, W): uniform 8-bit pixel values prepared as `input` says
// (Caffe's mean-subtracted 0-255 range, or torchvision's unit-scale normalised one: a model
// trained from scratch in the latter, as configs/tiny.yaml's, diverges on the former).
Tensor random_image(int h, int w, uint32_t seed, const InputConvention& input, Context& ctx) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(0.f, 255.f);
  std::vector<float> v(size_t(3) * h * w);
  for (int k = 0; k < 3; ++k)
    for (size_t i = 0; i < size_t(h) * w; ++i) v[size_t(k) * h * w + i] = input.normalize(d(gen), input.rgb_channel(k));
  return Tensor::from_vector<float>({1, 3, h, w}, v).to(ctx.device(), ctx.stream());
}

struct Gt {
  Tensor boxes, labels;         // on ctx's device
  std::vector<float> host_boxes;  // (G, 4)
};

// 3 boxes of 15-50% of the image sides, labels in 1..K.
Gt random_gt(int h, int w, int num_classes, uint32_t seed, Context& ctx) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> frac(0.15f, 0.5f), pos(0.f, 1.f);
  const int G = 3;
  Gt g;
  std::vector<int32_t> labels(G);
  for (int i = 0; i < G; ++i) {
    const float bw = frac(gen) * w, bh = frac(gen) * h;
    const float x1 = pos(gen) * (w - bw), y1 = pos(gen) * (h - bh);
    g.host_boxes.insert(g.host_boxes.end(), {x1, y1, x1 + bw, y1 + bh});
    labels[i] = 1 + int(gen() % uint32_t(num_classes - 1));
  }
  g.boxes = Tensor::from_vector<float>({G, 4}, g.host_boxes).to(ctx.device(), ctx.stream());
  g.labels = Tensor::from_vector<int32_t>({G}, labels).to(ctx.device(), ctx.stream());
  return g;
}

// P proposals (P, 4) like a trained RPN's: half jittered around the GT boxes (so the
// RoI sampler finds foreground), half anywhere, all clipped to the image.
Tensor random_proposals(const Gt& gt, int P, int h, int w, uint32_t seed, Context& ctx) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> jit(-0.25f, 0.25f), pos(0.f, 1.f), side(16.f, 0.6f * float(std::min(h, w)));
  const int G = int(gt.host_boxes.size() / 4);
  std::vector<float> v(size_t(P) * 4);
  for (int i = 0; i < P; ++i) {
    float x1, y1, x2, y2;
    if (i % 2 == 0) {
      const float* b = &gt.host_boxes[size_t(4) * ((i / 2) % G)];
      const float bw = b[2] - b[0], bh = b[3] - b[1];
      x1 = b[0] + jit(gen) * bw, y1 = b[1] + jit(gen) * bh, x2 = b[2] + jit(gen) * bw, y2 = b[3] + jit(gen) * bh;
    } else {
      const float bw = side(gen), bh = side(gen);
      x1 = pos(gen) * (w - bw), y1 = pos(gen) * (h - bh), x2 = x1 + bw, y2 = y1 + bh;
    }
    x1 = std::clamp(x1, 0.f, float(w)), x2 = std::clamp(x2, 0.f, float(w));
    y1 = std::clamp(y1, 0.f, float(h)), y2 = std::clamp(y2, 0.f, float(h));
    if (x2 < x1 + 1) x2 = std::min(float(w), x1 + 16);
    if (y2 < y1 + 1) y2 = std::min(float(h), y1 + 16);
    v[4 * i] = x1, v[4 * i + 1] = y1, v[4 * i + 2] = x2, v[4 * i + 3] = y2;
  }
  return Tensor::from_vector<float>({P, 4}, v).to(ctx.device(), ctx.stream());
}

InferenceBench bench_inference(FasterRCNN& model, Context& ctx, int h, int w, int batch, const InputConvention& input,
                               const E2eOptions& opt) {
  InferenceBench r;
  r.height = h;
  r.width = w;
  r.batch = batch;
  model.set_training(false);
  // Two distinct sets of images, alternated, so no run sees the previous one's data in cache.
  std::vector<Tensor> imgs[2];
  for (int k = 0; k < 2; ++k)
    for (int b = 0; b < batch; ++b) imgs[k].push_back(random_image(h, w, uint32_t(opt.seed) + 11 + k + 2 * b, input, ctx));
  const std::vector<float> scales(size_t(batch), 1.f);
  // One call's time split, and its proposals and detections summed over its images.
  struct Call {
    DetectTiming timing;
    double proposals = 0, detections = 0;
  };
  auto run = [&](int i) {
    Call c;
    if (batch == 1) {
      const DetectResult d = model.detect(ctx, imgs[i % 2][0], 1.f);
      c = {d.timing, double(d.num_proposals), double(d.scores.numel())};
    } else {
      const BatchDetectResult b = model.detect_batch(ctx, imgs[i % 2], scales);
      c.timing = b.timing;
      for (const DetectResult& x : b.images) c.proposals += x.num_proposals, c.detections += double(x.scores.numel());
    }
    return c;
  };
  ctx.synchronize();
  reset_memory_peak(ctx.device());
  r.graphs = ctx.is_cuda() && model.cuda_graphs();
  // At least two warm-up calls: a shape's first runs eagerly, its second captures the graph.
  for (int i = 0; i < std::max(opt.warmup, ctx.is_cuda() ? 2 : 0); ++i) run(i);
  std::vector<double> conv, prop, region, total, gpu, host;
  double props = 0, dets = 0;
  const DeviceCounters before = device_counters();
  for (int i = 0; i < opt.iters; ++i) {
    const Call c = run(i);
    conv.push_back(c.timing.conv_ms / batch);
    prop.push_back(c.timing.proposals_ms / batch);
    region.push_back(c.timing.region_ms / batch);
    total.push_back(c.timing.total_ms / batch);
    gpu.push_back(c.timing.gpu_ms / batch);
    host.push_back(ctx.is_cuda() ? (c.timing.total_ms - c.timing.gpu_ms) / batch : 0.0);
    props += c.proposals;
    dets += c.detections;
  }
  const DeviceCounters after = device_counters();
  const double n = double(std::max(1, opt.iters)) * batch;  // images
  r.launches = double(after.launches - before.launches) / n;
  r.graph_launches = double(after.graph_launches - before.graph_launches) / n;
  r.syncs = double(after.syncs - before.syncs) / n;
  r.allocations = double(after.allocations - before.allocations) / n;
  r.conv_ms = time_stats(conv);
  r.proposals_ms = time_stats(prop);
  r.region_ms = time_stats(region);
  r.total_ms = time_stats(total);
  r.gpu_ms = time_stats(gpu);
  r.host_ms = time_stats(host);
  r.fps = r.total_ms.median > 0 ? 1000.0 / r.total_ms.median : 0;
  r.mean_proposals = props / n;
  r.mean_detections = dets / n;
  r.memory = memory_peak(ctx.device());
  return r;
}

TrainBench bench_train_stage(FasterRCNN& model, const Config& cfg, Context& ctx, TrainParts parts, int h, int w,
                             const InputConvention& input, const E2eOptions& opt) {
  TrainBench r;
  const ScheduleConfig& sc = cfg.schedule;
  switch (parts) {
    case TrainParts::Rpn:
      r.stage = "rpn";
      r.ims_per_batch = sc.rpn1.ims_per_batch;
      break;
    case TrainParts::Head:
      r.stage = "head";
      r.ims_per_batch = sc.frcn1.ims_per_batch;
      r.proposals = sc.proposal_post_nms;
      break;
    case TrainParts::Joint:
      r.stage = "joint";
      r.ims_per_batch = sc.joint.ims_per_batch;
      break;
  }
  r.ims_per_batch = std::max(1, r.ims_per_batch);
  r.frozen_blocks = cfg.model.backbone.frozen_blocks;
  // What the stage trains: the schedule's freezing (docs/TRAINING.md, stage 1 of each kind).
  model.backbone().freeze_blocks(r.frozen_blocks);
  model.rpn().set_frozen(parts == TrainParts::Head);
  model.head().set_frozen(parts == TrainParts::Rpn);
  model.set_training(true);
  std::vector<Param*> trainable;
  for (Param* p : model.params())
    if (!p->frozen) trainable.push_back(p);

  SgdConfig sg;
  sg.base_lr = cfg.solver.base_lr;
  sg.momentum = cfg.solver.momentum;
  sg.weight_decay = cfg.solver.weight_decay;
  Sgd sgd(sg);

  const int n = r.ims_per_batch;
  const TrainStep step = minibatch_step(parts, cfg.model, n, parts == TrainParts::Joint ? sc.joint.bg_iou_lo
                                                                                         : sc.frcn1.bg_iou_lo);
  const int K = cfg.model.num_classes();
  std::vector<Tensor> imgs, props;
  std::vector<Gt> gts;
  for (int i = 0; i < n; ++i) {
    const uint32_t s = uint32_t(opt.seed) * 131u + 100u * uint32_t(parts) + uint32_t(i);
    imgs.push_back(random_image(h, w, s + 1, input, ctx));
    gts.push_back(random_gt(h, w, K, s + 2, ctx));
    props.push_back(parts == TrainParts::Head ? random_proposals(gts.back(), r.proposals, h, w, s + 3, ctx)
                                              : Tensor());
  }
  ctx.synchronize();
  reset_memory_peak(ctx.device());
  CounterRng rng(opt.seed);
  std::vector<double> secs;
  for (int it = 0; it < opt.warmup + opt.iters; ++it) {
    rng.set_step(uint64_t(it));
    WallTimer t;
    zero_grad(ctx, trainable);
    double loss = 0;
    for (int i = 0; i < n; ++i)
      loss += model.train_image(ctx, imgs[i], gts[i].boxes, gts[i].labels, 1.f, props[i], rng, uint32_t(i), step)
                  .total();
    sgd.step(ctx, trainable, it);
    ctx.synchronize();
    if (it >= opt.warmup) secs.push_back(t.seconds());
    r.last_loss = loss / n;
  }
  r.s_per_iter = time_stats(secs);
  r.images_per_s = r.s_per_iter.median > 0 ? n / r.s_per_iter.median : 0;
  r.memory = memory_peak(ctx.device());
  if (!std::isfinite(r.last_loss))
    throw std::runtime_error("frcnn bench: training stage '" + r.stage + "' produced a non-finite loss");
  return r;
}

nlohmann::json stats_json(const TimeStats& s) {
  return {{"median", s.median}, {"mean", s.mean}, {"min", s.min}, {"max", s.max}, {"count", s.count}};
}

nlohmann::json memory_json(const PeakMemory& m) { return {{"peak_mib", m.mib}, {"kind", m.kind}}; }

}  // namespace

E2eReport run_e2e_bench(const Config& cfg, const std::string& config_name, Context& ctx, const E2eOptions& opt) {
  const Device device = ctx.device();
  if (opt.mode != "inference" && opt.mode != "train" && opt.mode != "all")
    throw std::invalid_argument("frcnn bench: --mode must be inference, train or all, got '" + opt.mode + "'");
  if (opt.iters < 1) throw std::invalid_argument("frcnn bench: --iters must be >= 1");
  if (opt.warmup < 0) throw std::invalid_argument("frcnn bench: --warmup must be >= 0");
  for (int b : opt.batches)
    if (b < 1 || b > 64) throw std::invalid_argument(str_cat("frcnn bench: --batch ", b, " is outside 1..64"));
  const int h = opt.height > 0 ? opt.height : cfg.input.scale;
  const int w = opt.width > 0 ? opt.width : cfg.input.max_size;
  if (h < 32 || w < 32) throw std::invalid_argument(str_cat("frcnn bench: input ", h, "x", w, " is too small"));

  E2eReport r;
  r.config_name = config_name;
  r.device = device_name(device);
  r.build = build_string();
  r.conv_backend = device.is_cuda() ? cfg.model.backbone.conv_backend
                                     : "cpu (" + onednn_description() + ")";
  // The precision is the context's (apps/run_setup.cpp sets it from model.precision): what ran.
  r.math = math_mode_name(ctx.math_mode());
  r.math_detail = device.is_cuda() ? math_mode_description(ctx.math_mode())
                  : ctx.math_mode() == MathMode::Fp32
                      ? "fp32 (CPU: oneDNN conv, OpenBLAS fc, plain loops)"
                      : std::string(math_mode_name(ctx.math_mode())) +
                            " (CPU: operands rounded to the format, then oneDNN conv, OpenBLAS fc and plain loops in FP32)";
  if (device.is_cuda() && !math_env_overrides().empty()) r.math_detail += "; environment: " + math_env_overrides();
  r.deterministic = ctx.deterministic();
  r.date = utc_now();
  r.timing = device.is_cuda() ? "wall clock around device-synchronised phases (ms / s), median over iters"
                              : "wall clock (ms / s), median over iters";
  r.iters = opt.iters;
  r.warmup = opt.warmup;

  const InputConvention input = input_convention_or({}, "frcnn bench's random weights", cfg.input.convention);
  FasterRCNN model(cfg.model);
  model.to(ctx);
  model.set_conv_backend(parse_conv_backend(cfg.model.backbone.conv_backend));
  model.init(ctx, opt.seed, cfg.init);
  ctx.synchronize();
  log_info(str_cat("frcnn bench: ", config_name, " on ", r.device, ", input ", h, "x", w, ", ", opt.warmup,
                   " warm-up + ", opt.iters, " timed"));

  if (opt.mode != "train") {
    r.has_inference = true;
    r.inference = bench_inference(model, ctx, h, w, 1, input, opt);
    log_info(str_cat("inference: ", r.inference.total_ms.median, " ms/image (median)",
                     r.inference.graphs ? ", CUDA graphs" : ""));
    if (r.inference.graphs) {  // the same without graphs: what they save
      model.set_cuda_graphs(false);
      r.has_inference_eager = true;
      r.inference_eager = bench_inference(model, ctx, h, w, 1, input, opt);
      model.set_cuda_graphs(true);
      model.clear_detect_plans();
      log_info(str_cat("inference without CUDA graphs: ", r.inference_eager.total_ms.median, " ms/image (median)"));
    }
    {
      const int hw = int(std::max(1u, std::thread::hardware_concurrency()));
      r.loader = bench_loader(hw > 1 ? std::vector<int>{1, hw} : std::vector<int>{1}, cfg.input.scale,
                              cfg.input.max_size);
      log_info(str_cat("loader: ", r.loader.back().images_per_s, " images/s with ", r.loader.back().threads,
                       " thread(s)"));
    }
    for (int b : opt.batches) {
      if (b == 1) continue;  // the row above
      r.inference_batched.push_back(bench_inference(model, ctx, h, w, b, input, opt));
      model.clear_detect_plans();  // a batch plan holds B images' memory
      log_info(str_cat("inference, batch ", b, ": ", r.inference_batched.back().total_ms.median,
                       " ms/image (median), ", r.inference_batched.back().fps, " images/s"));
      if (r.inference.graphs) {  // and without graphs, as batch 1
        model.set_cuda_graphs(false);
        r.inference_batched_no_graphs.push_back(bench_inference(model, ctx, h, w, b, input, opt));
        model.set_cuda_graphs(true);
        model.clear_detect_plans();
      }
    }
  }
  if (opt.mode != "inference") {
    for (TrainParts p : {TrainParts::Rpn, TrainParts::Head, TrainParts::Joint}) {
      r.train.push_back(bench_train_stage(model, cfg, ctx, p, h, w, input, opt));
      log_info(str_cat("train ", r.train.back().stage, ": ", r.train.back().s_per_iter.median, " s/iter (median)"));
    }
  }
  return r;
}

nlohmann::json e2e_to_json(const E2eReport& r) {
  nlohmann::json j;
  j["config"] = r.config_name;
  j["device"] = r.device;
  j["build"] = r.build;
  j["conv_backend"] = r.conv_backend;
  j["math"] = r.math;
  j["math_detail"] = r.math_detail;
  j["deterministic"] = r.deterministic;
  j["date"] = r.date;
  j["timing"] = r.timing;
  j["iters"] = r.iters;
  j["warmup"] = r.warmup;
  j["weights"] = "random (FasterRCNN::init); inputs random";
  auto inference_json = [](const InferenceBench& i) {
    return nlohmann::json{{"input", {i.height, i.width}},
                          {"batch", i.batch},
                          {"cuda_graphs", i.graphs},
                          {"conv_ms", stats_json(i.conv_ms)},
                          {"proposals_ms", stats_json(i.proposals_ms)},
                          {"region_ms", stats_json(i.region_ms)},
                          {"total_ms", stats_json(i.total_ms)},
                          {"gpu_ms", stats_json(i.gpu_ms)},
                          {"host_overhead_ms", stats_json(i.host_ms)},
                          {"fps", i.fps},
                          {"per_image", {{"kernel_launches", i.launches},
                                         {"graph_launches", i.graph_launches},
                                         {"host_waits", i.syncs},
                                         {"device_allocations", i.allocations}}},
                          {"mean_proposals", i.mean_proposals},
                          {"mean_detections", i.mean_detections},
                          {"memory", memory_json(i.memory)}};
  };
  if (r.has_inference) j["inference"] = inference_json(r.inference);
  if (r.has_inference_eager) j["inference_no_graphs"] = inference_json(r.inference_eager);
  if (!r.loader.empty()) j["loader"] = loader_bench_json(r.loader);
  if (!r.inference_batched.empty()) {
    j["inference_batched"] = nlohmann::json::array();
    for (const InferenceBench& b : r.inference_batched) j["inference_batched"].push_back(inference_json(b));
  }
  if (!r.inference_batched_no_graphs.empty()) {
    j["inference_batched_no_graphs"] = nlohmann::json::array();
    for (const InferenceBench& b : r.inference_batched_no_graphs)
      j["inference_batched_no_graphs"].push_back(inference_json(b));
  }
  nlohmann::json tr = nlohmann::json::object();
  for (const TrainBench& t : r.train)
    tr[t.stage] = {{"ims_per_batch", t.ims_per_batch},   {"frozen_blocks", t.frozen_blocks},
                   {"proposals", t.proposals},           {"s_per_iter", stats_json(t.s_per_iter)},
                   {"images_per_s", t.images_per_s},     {"last_loss", t.last_loss},
                   {"memory", memory_json(t.memory)}};
  if (!r.train.empty()) j["train"] = tr;
  return j;
}

std::string e2e_table(const E2eReport& r) {
  std::ostringstream os;
  char line[256];
  os << "frcnn bench: " << r.config_name << "\n  device  " << r.device << "\n  build   " << r.build
     << "\n  conv    " << r.conv_backend << "\n  math    " << r.math_detail
     << (r.deterministic ? "" : ", any cuDNN algorithm") << "\n  date    " << r.date << "\n  timing  " << r.timing << " ("
     << r.warmup << " warm-up, " << r.iters << " timed)\n";
  auto mem = [](const PeakMemory& m) {
    return str_cat(int(std::lround(m.mib)), " MiB (", m.kind == "process_peak_rss" ? "process peak RSS" : "allocator peak",
                   ")");
  };
  if (r.has_inference) {
    const InferenceBench& i = r.inference;
    os << "\nInference, batch 1, " << i.height << "x" << i.width << ", " << i.mean_proposals
       << " proposals/image (Table 5 split)\n";
    std::snprintf(line, sizeof line, "  %-12s %12s %12s\n", "ms/image", "median", "mean");
    os << line;
    const std::pair<const char*, const TimeStats*> rows[] = {
        {"conv", &i.conv_ms}, {"proposals", &i.proposals_ms}, {"region-wise", &i.region_ms}, {"total", &i.total_ms}};
    for (auto& [name, s] : rows) {
      std::snprintf(line, sizeof line, "  %-12s %12.2f %12.2f\n", name, s->median, s->mean);
      os << line;
    }
    std::snprintf(line, sizeof line, "  fps %.2f, peak memory %s\n", i.fps, mem(i.memory).c_str());
    os << line;
    auto per_image = [&](const InferenceBench& b, const char* what) {
      std::snprintf(line, sizeof line,
                    "  %-14s host overhead %.3f ms, GPU %.2f ms; per image %.0f launches, %.0f graph launches, "
                    "%.0f waits, %.0f allocations; fps %.2f\n",
                    what, b.host_ms.median, b.gpu_ms.median, b.launches, b.graph_launches, b.syncs, b.allocations,
                    b.fps);
      os << line;
    };
    if (r.device.rfind("cuda", 0) == 0) {
      per_image(i, i.graphs ? "CUDA graphs" : "no graphs");
      if (r.has_inference_eager) per_image(r.inference_eager, "no graphs");
    }
    if (!r.inference_batched.empty()) {
      os << "\nThroughput, B same-size images per detect_batch call" << (i.graphs ? " (CUDA graphs)" : "") << "\n";
      std::snprintf(line, sizeof line, "  %6s %12s %12s %10s %10s %12s  %s\n", "batch", "ms/batch", "ms/image",
                    "images/s", "host ms/im", "no graphs/s", "peak memory");
      os << line;
      // batch 1, then each B; beside each, its run without graphs when there is one
      std::vector<std::pair<const InferenceBench*, const InferenceBench*>> rows{
          {&i, r.has_inference_eager ? &r.inference_eager : nullptr}};
      for (size_t k = 0; k < r.inference_batched.size(); ++k)
        rows.emplace_back(&r.inference_batched[k],
                          k < r.inference_batched_no_graphs.size() ? &r.inference_batched_no_graphs[k] : nullptr);
      for (const auto& [b, eager] : rows) {
        const bool cuda = r.device.rfind("cuda", 0) == 0;  // host overhead: a CUDA figure
        const std::string host = cuda ? str_cat(std::fixed, std::setprecision(3), b->host_ms.median) : "-";
        const std::string plain = eager ? str_cat(std::fixed, std::setprecision(2), eager->fps) : "-";
        std::snprintf(line, sizeof line, "  %6d %12.2f %12.2f %10.2f %10s %12s  %s\n", b->batch,
                      b->total_ms.median * b->batch, b->total_ms.median, b->fps, host.c_str(), plain.c_str(),
                      mem(b->memory).c_str());
        os << line;
      }
    }
  }
  if (!r.loader.empty()) {
    os << "\nLoader alone: 500x375 JPEGs, decode + resize + normalise to the config's input size\n";
    for (const LoaderBench& l : r.loader) {
      std::snprintf(line, sizeof line, "  %2d thread(s) %9.1f images/s   (one image: decode %.2f ms, resize + normalise %.2f ms)\n",
                    l.threads, l.images_per_s, l.decode_ms, l.resize_ms);
      os << line;
    }
  }
  if (!r.train.empty()) {
    os << "\nTraining, one iteration = zero_grad + forward/backward per image + SGD step\n";
    std::snprintf(line, sizeof line, "  %-6s %6s %7s %11s %11s %8s  %s\n", "stage", "images", "frozen", "s/iter med",
                  "s/iter mean", "img/s", "peak memory");
    os << line;
    for (const TrainBench& t : r.train) {
      std::snprintf(line, sizeof line, "  %-6s %6d %7d %11.3f %11.3f %8.2f  %s\n", t.stage.c_str(), t.ims_per_batch,
                    t.frozen_blocks, t.s_per_iter.median, t.s_per_iter.mean, t.images_per_s, mem(t.memory).c_str());
      os << line;
    }
  }
  return os.str();
}

}  // namespace frcnn
