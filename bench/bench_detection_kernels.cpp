// Google Benchmark entries for the detection kernels (kernels/) at Faster R-CNN sizes:
// anchors of a 38x50 map (A = 9, 17100 anchors), 17100 anchors -> proposals (train
// 12000/2000 and test 6000/300), NMS on 6000 and 12000 boxes, RoI pool forward and
// backward with 128 and 300 RoIs on 512x38x50, anchor targets, proposal targets.
// CPU entries use the wall clock; CUDA entries time with CUDA events on the op's stream
// (UseManualTime) and report "no GPU" when none is present. Inputs are seeded random,
// never zeros.
//
// Shared inputs: when FRCNN_BENCH_INPUTS names the file bench/compare_torchvision.py
// wrote (bench_inputs.safetensors; scripts/bench-all.sh sets it), the NMS and RoI-pool
// entries time the very tensors torchvision was timed on (counter shared_inputs = 1),
// so the two columns of the table compare the same data. Without it they use their own
// seeded random inputs (shared_inputs = 0).
//
// Bytes (bytes_per_second) count the compulsory traffic: every input read once and
// every output written once; a kernel that re-reads (RoI bins overlap) moves more.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/context.h"
#include "engine/device.h"
#include "engine/safetensors.h"
#include "engine/timer.h"
#include "kernels/anchor_targets.h"
#include "kernels/anchors.h"
#include "kernels/box_ops.h"
#include "kernels/nms.h"
#include "kernels/proposal_targets.h"
#include "kernels/proposals.h"
#include "kernels/roi_pool.h"

using namespace frcnn;

namespace {

const std::vector<float> kSizes = {128, 256, 512}, kRatios = {0.5f, 1.f, 2.f};
constexpr int kH = 38, kW = 50, kA = 9;
constexpr float kImgH = 600, kImgW = 800;

Tensor bench_boxes(int64_t n, uint32_t seed, float min_size = 16.f, float max_size = 300.f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> ux(0.f, kImgW), uy(0.f, kImgH), us(min_size, max_size);
  std::vector<float> v(size_t(4 * n));
  for (int64_t i = 0; i < n; ++i) {
    float cx = ux(gen), cy = uy(gen), w = us(gen), h = us(gen);
    v[4 * i] = cx - w / 2, v[4 * i + 1] = cy - h / 2, v[4 * i + 2] = cx + w / 2, v[4 * i + 3] = cy + h / 2;
  }
  return Tensor::from_vector<float>({n, 4}, v);
}

Tensor bench_uniform(const Shape& s, uint32_t seed, float lo, float hi) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(size_t(shape_numel(s)));
  for (auto& x : v) x = d(gen);
  return Tensor::from_vector<float>(s, v);
}

Tensor bench_rois(int R, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> ux(0.f, kImgW - 20), uy(0.f, kImgH - 20), us(16.f, 400.f);
  std::vector<float> v(size_t(5 * R));
  for (int r = 0; r < R; ++r) {
    float x = ux(gen), y = uy(gen);
    v[5 * r] = 0, v[5 * r + 1] = x, v[5 * r + 2] = y;
    v[5 * r + 3] = std::min(x + us(gen), kImgW), v[5 * r + 4] = std::min(y + us(gen), kImgH);
  }
  return Tensor::from_vector<float>({R, 5}, v);
}

// The shared input file (FRCNN_BENCH_INPUTS), loaded once; nullptr when the variable is
// unset. A set variable naming a missing or malformed file is an error (thrown from
// load_safetensors, naming the file): the comparison must not silently use other data.
const TensorFile* shared_inputs() {
  static std::unique_ptr<TensorFile> file;
  static bool tried = false;
  if (!tried) {
    tried = true;
    const char* path = std::getenv("FRCNN_BENCH_INPUTS");
    if (path && *path) file = std::make_unique<TensorFile>(load_safetensors(path));
  }
  return file.get();
}

// NMS inputs: the shared file's nms<n>.boxes / nms<n>.scores when present, else seeded random.
void nms_inputs(int n, Tensor& boxes, Tensor& scores, bool& shared) {
  const TensorFile* f = shared_inputs();
  const std::string b = "nms" + std::to_string(n) + ".boxes", sc = "nms" + std::to_string(n) + ".scores";
  shared = f && f->has(b) && f->has(sc);
  if (shared) {
    boxes = f->get(b, {n, 4});
    scores = f->get(sc, {n});
  } else {
    boxes = bench_boxes(n, 5);
    scores = bench_uniform({n}, 6, 0.f, 1.f);
  }
}

// RoI-pool inputs: features (1, 512, 38, 50), rois (R, 5), grad (R, 512, 7, 7).
void roi_inputs(int R, Tensor& feat, Tensor& rois, Tensor& grad, bool& shared) {
  const TensorFile* f = shared_inputs();
  const std::string r = "roi" + std::to_string(R) + ".rois", g = "roi" + std::to_string(R) + ".grad";
  shared = f && f->has("roi.features") && f->has(r) && f->has(g);
  if (shared) {
    feat = f->get("roi.features", {1, 512, kH, kW});
    rois = f->get(r, {R, 5});
    grad = f->get(g, {R, 512, 7, 7});
  } else {
    feat = bench_uniform({1, 512, kH, kW}, 7, -1.f, 1.f);
    rois = bench_rois(R, 8);
    grad = bench_uniform({R, 512, 7, 7}, 11, -1.f, 1.f);
  }
}

// Runs `f` per iteration on the device `dev`: wall clock on the CPU, CUDA events otherwise.
template <class F>
void run(benchmark::State& state, Context& ctx, F&& f) {
  if (!ctx.is_cuda()) {
    for (auto _ : state) f();
    return;
  }
  f();  // warm-up: allocator cache, CUB temp storage
  ctx.synchronize();
  for (auto _ : state) {
    CudaEventTimer t(ctx.stream());
    t.start();
    f();
    t.stop();
    state.SetIterationTime(t.millis() / 1e3);
  }
}

// Returns false (and marks the benchmark skipped) when `cuda` is requested without a GPU.
bool make_ctx(benchmark::State& state, bool cuda, std::unique_ptr<Context>& ctx) {
  if (cuda && !cuda_available()) {
    state.SkipWithError("no GPU");
    return false;
  }
  ctx = std::make_unique<Context>(cuda ? Device::cuda(0) : Device::cpu());
  return true;
}

void BM_anchors(benchmark::State& state, bool cuda) {
  std::unique_ptr<Context> ctx;
  if (!make_ctx(state, cuda, ctx)) return;
  run(state, *ctx, [&] {
    Tensor a = make_anchors(kH, kW, 16, kSizes, kRatios, ctx->device(), ctx->stream());
    benchmark::DoNotOptimize(a.raw_data());
  });
  state.SetItemsProcessed(state.iterations() * kH * kW * kA);
  state.SetBytesProcessed(state.iterations() * kH * kW * kA * 16);  // (K, 4) F32 written
}

void BM_box_iou(benchmark::State& state, bool cuda) {
  std::unique_ptr<Context> ctx;
  if (!make_ctx(state, cuda, ctx)) return;
  const int n = int(state.range(0));
  Tensor a = bench_boxes(n, 1).to(ctx->device(), ctx->stream()), b = bench_boxes(64, 2).to(ctx->device(), ctx->stream());
  run(state, *ctx, [&] { benchmark::DoNotOptimize(box_iou(*ctx, a, b).raw_data()); });
  state.SetItemsProcessed(state.iterations() * n * 64);
  state.SetBytesProcessed(state.iterations() * (int64_t(n) * 16 + 64 * 16 + int64_t(n) * 64 * 4));
}

void BM_proposals(benchmark::State& state, bool cuda) {
  std::unique_ptr<Context> ctx;
  if (!make_ctx(state, cuda, ctx)) return;
  ProposalConfig cfg;
  cfg.pre_nms_top_n = int(state.range(0));
  cfg.post_nms_top_n = int(state.range(1));
  Tensor anchors = make_anchors(kH, kW, 16, kSizes, kRatios, ctx->device(), ctx->stream());
  Tensor scores = bench_uniform({kA, kH, kW}, 3, 0.01f, 0.99f).to(ctx->device(), ctx->stream());
  Tensor deltas = bench_uniform({4 * kA, kH, kW}, 4, -0.3f, 0.3f).to(ctx->device(), ctx->stream());
  run(state, *ctx, [&] {
    Proposals p = proposal_layer(*ctx, scores, deltas, anchors, kImgH, kImgW, 1.f, cfg);
    benchmark::DoNotOptimize(p.boxes.raw_data());
  });
  const int64_t K = int64_t(kH) * kW * kA;
  state.SetItemsProcessed(state.iterations() * K);
  // scores (K) + deltas (4K) + anchors (K, 4) read, post-NMS boxes + scores written
  state.SetBytesProcessed(state.iterations() * (K * 4 + K * 16 + K * 16 + int64_t(cfg.post_nms_top_n) * 20));
}

void BM_nms(benchmark::State& state, bool cuda) {
  std::unique_ptr<Context> ctx;
  if (!make_ctx(state, cuda, ctx)) return;
  const int n = int(state.range(0));
  Tensor hb, hs;
  bool shared = false;
  nms_inputs(n, hb, hs, shared);
  Tensor b = hb.to(ctx->device(), ctx->stream()), s = hs.to(ctx->device(), ctx->stream());
  int64_t kept = 0;
  run(state, *ctx, [&] { kept = nms(*ctx, b, s, 0.7f).numel(); });
  state.counters["kept"] = double(kept);
  state.counters["shared_inputs"] = shared ? 1 : 0;
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * (int64_t(n) * 20 + kept * 8));  // boxes + scores in, I64 keep out
}

void BM_roi_pool_forward(benchmark::State& state, bool cuda) {
  std::unique_ptr<Context> ctx;
  if (!make_ctx(state, cuda, ctx)) return;
  const int R = int(state.range(0)), C = 512;
  Tensor hf, hr, hg;
  bool shared = false;
  roi_inputs(R, hf, hr, hg, shared);
  Tensor feat = hf.to(ctx->device(), ctx->stream()), rois = hr.to(ctx->device(), ctx->stream());
  run(state, *ctx, [&] {
    RoiPoolResult r = roi_pool_forward(*ctx, feat, rois, 7, 7, 1.f / 16);
    benchmark::DoNotOptimize(r.output.raw_data());
  });
  state.counters["shared_inputs"] = shared ? 1 : 0;
  state.SetItemsProcessed(state.iterations() * R * C * 49);
  // features + rois read, output F32 + argmax I32 written
  state.SetBytesProcessed(state.iterations() * (int64_t(C) * kH * kW * 4 + int64_t(R) * 20 + int64_t(R) * C * 49 * 8));
}

void BM_roi_pool_backward(benchmark::State& state, bool cuda) {
  std::unique_ptr<Context> ctx;
  if (!make_ctx(state, cuda, ctx)) return;
  const int R = int(state.range(0)), C = 512;
  Tensor hf, hr, hg;
  bool shared = false;
  roi_inputs(R, hf, hr, hg, shared);
  Tensor feat = hf.to(ctx->device(), ctx->stream()), rois = hr.to(ctx->device(), ctx->stream());
  RoiPoolResult fwd = roi_pool_forward(*ctx, feat, rois, 7, 7, 1.f / 16);
  Tensor go = hg.to(ctx->device(), ctx->stream());
  run(state, *ctx, [&] {
    Tensor g = roi_pool_backward(*ctx, go, fwd.argmax, rois, 1, C, kH, kW, 1.f / 16);
    benchmark::DoNotOptimize(g.raw_data());
  });
  state.counters["shared_inputs"] = shared ? 1 : 0;
  state.SetItemsProcessed(state.iterations() * R * C * 49);
  // grad_out + argmax + rois read, the feature gradient written
  state.SetBytesProcessed(state.iterations() * (int64_t(R) * C * 49 * 8 + int64_t(R) * 20 + int64_t(C) * kH * kW * 4));
}

void BM_anchor_targets(benchmark::State& state, bool cuda) {
  std::unique_ptr<Context> ctx;
  if (!make_ctx(state, cuda, ctx)) return;
  Tensor anchors = make_anchors(kH, kW, 16, kSizes, kRatios, ctx->device(), ctx->stream());
  Tensor gt = bench_boxes(int(state.range(0)), 12, 40.f, 300.f).to(ctx->device(), ctx->stream());
  uint64_t step = 0;
  run(state, *ctx, [&] {
    AnchorTargets t = anchor_targets(*ctx, anchors, gt, kImgH, kImgW, {}, RngKey{1, step++});
    benchmark::DoNotOptimize(t.labels.raw_data());
  });
  const int64_t K = int64_t(kH) * kW * kA;
  // anchors + GT read; labels (K) + targets and two weights (K, 4) each written
  state.SetBytesProcessed(state.iterations() * (K * 16 + state.range(0) * 16 + K * 4 + 3 * K * 16));
}

void BM_proposal_targets(benchmark::State& state, bool cuda) {
  std::unique_ptr<Context> ctx;
  if (!make_ctx(state, cuda, ctx)) return;
  const int G = int(state.range(0));
  Tensor props = bench_boxes(2000, 13).to(ctx->device(), ctx->stream());
  Tensor gt = bench_boxes(G, 14, 40.f, 300.f).to(ctx->device(), ctx->stream());
  std::vector<int32_t> l(G);
  for (int g = 0; g < G; ++g) l[g] = 1 + g % 20;
  Tensor gl = Tensor::from_vector<int32_t>({G}, l).to(ctx->device(), ctx->stream());
  uint64_t step = 0;
  run(state, *ctx, [&] {
    ProposalTargets t = proposal_targets(*ctx, props, gt, gl, 21, {}, RngKey{1, step++});
    benchmark::DoNotOptimize(t.rois.raw_data());
  });
  // proposals + GT read; 128 RoIs, labels and class-specific targets / weights (128, 4 * 21) written
  state.SetBytesProcessed(state.iterations() * (2000 * 16 + int64_t(G) * 20 + 128 * (16 + 4 + 2 * 84 * 4)));
}

}  // namespace

#define FRCNN_BENCH_PAIR(fn, ...)                                                           \
  BENCHMARK_CAPTURE(fn, cpu, false)->Unit(benchmark::kMillisecond)->UseRealTime() __VA_ARGS__;             \
  BENCHMARK_CAPTURE(fn, cuda, true)->Unit(benchmark::kMicrosecond)->UseManualTime() __VA_ARGS__

FRCNN_BENCH_PAIR(BM_anchors, );
FRCNN_BENCH_PAIR(BM_box_iou, ->Arg(17100));
FRCNN_BENCH_PAIR(BM_proposals, ->Args({12000, 2000})->Args({6000, 300}));
FRCNN_BENCH_PAIR(BM_nms, ->Arg(6000)->Arg(12000));
FRCNN_BENCH_PAIR(BM_roi_pool_forward, ->Arg(128)->Arg(300));
FRCNN_BENCH_PAIR(BM_roi_pool_backward, ->Arg(128)->Arg(300));
FRCNN_BENCH_PAIR(BM_anchor_targets, ->Arg(5)->Arg(40));
FRCNN_BENCH_PAIR(BM_proposal_targets, ->Arg(5)->Arg(40));
