#include <algorithm>

#include "kernels/box_ops.h"
#include "kernels/proposal_targets.h"
#include "tests/gpu.h"
#include "tests/kernels/kernel_test_util.h"

using namespace frcnn;
using namespace frcnn::test;

namespace {
// proposals: jittered copies of the GT boxes (foreground) plus random boxes (mostly bg)
Tensor make_proposals(const Tensor& gt, int n_random, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> j(-8.f, 8.f);
  std::vector<float> v;
  const int G = int(gt.size(0));
  for (int r = 0; r < 20; ++r)
    for (int g = 0; g < G; ++g)
      for (int c = 0; c < 4; ++c) v.push_back(gt.data<float>()[4 * g + c] + j(gen));
  auto rnd = vec<float>(random_boxes(n_random, seed + 1));
  v.insert(v.end(), rnd.begin(), rnd.end());
  return Tensor::from_vector<float>({int64_t(v.size() / 4), 4}, v);
}
}  // namespace

TEST_CASE("proposal_targets: counts fractions labels and targets", "[proposal_targets]") {
  Context ctx;
  const int K1 = 21;
  Tensor gt = random_boxes(4, 1, 800, 600, 60, 300);
  Tensor gl = Tensor::from_vector<int32_t>({4}, {3, 20, 1, 7});
  Tensor props = make_proposals(gt, 2000, 2);
  ProposalTargetConfig cfg;
  ProposalTargets t = proposal_targets(ctx, props, gt, gl, K1, cfg, RngKey{9, 9});
  const int R = int(t.rois.size(0));
  REQUIRE(R == 128);
  REQUIRE(t.bbox_targets.shape() == Shape{128, 4 * K1});
  auto lab = vec<int32_t>(t.labels);
  auto tg = vec<float>(t.bbox_targets), w = vec<float>(t.bbox_inside_weights);
  auto iou = vec<float>(box_iou(ctx, t.rois, gt));
  int fg = 0;
  for (int i = 0; i < R; ++i) {
    REQUIRE((lab[i] >= 0 && lab[i] < K1));
    float mx = 0;
    int arg = 0;
    for (int g = 0; g < 4; ++g)
      if (iou[4 * i + g] > mx) mx = iou[4 * i + g], arg = g;
    if (lab[i] > 0) {
      ++fg;
      REQUIRE(i < 32);  // foreground rows first
      REQUIRE(mx >= 0.5f);
      REQUIRE(lab[i] == gl.data<int32_t>()[arg]);
      for (int c = 0; c < 4 * K1; ++c) REQUIRE(w[i * 4 * K1 + c] == (c / 4 == lab[i] ? 1.f : 0.f));
      // normalised target decodes back to the GT
      Tensor d = Tensor::from_vector<float>({1, 4}, std::vector<float>(tg.begin() + i * 4 * K1 + 4 * lab[i],
                                                                       tg.begin() + i * 4 * K1 + 4 * lab[i] + 4));
      require_close(decode_boxes(ctx, t.rois.slice(i, i + 1), d, cfg.coder), gt.slice(arg, arg + 1), 1e-2, 1e-4, "fg");
    } else {
      REQUIRE(mx < 0.5f);
      for (int c = 0; c < 4 * K1; ++c) REQUIRE((tg[i * 4 * K1 + c] == 0.f && w[i * 4 * K1 + c] == 0.f));
    }
  }
  REQUIRE(fg == 32);  // 80 jittered + 4 GT candidates: the 25% cap binds
  auto again = proposal_targets(ctx, props, gt, gl, K1, cfg, RngKey{9, 9});
  REQUIRE(vec<float>(again.rois) == vec<float>(t.rois));
}

TEST_CASE("proposal_targets: GT boxes are candidates and too few candidates give fewer RoIs", "[proposal_targets]") {
  Context ctx;
  Tensor gt = Tensor::from_vector<float>({2, 4}, {10, 10, 100, 100, 200, 200, 300, 260});
  Tensor gl = Tensor::from_vector<int32_t>({2}, {1, 2});
  // no proposals at all: the two GT boxes are the only (foreground) candidates
  ProposalTargets t = proposal_targets(ctx, Tensor::empty({0, 4}), gt, gl, 3, {}, RngKey{1, 1});
  REQUIRE(t.rois.size(0) == 2);
  auto lab = vec<int32_t>(t.labels);
  std::sort(lab.begin(), lab.end());
  REQUIRE(lab == std::vector<int32_t>{1, 2});
  for (float v : vec<float>(t.bbox_targets)) REQUIRE(std::fabs(v) < 1e-6f);  // a GT box against itself
  // bg_lo = 0.1 excludes non-overlapping proposals: fewer than 128 rows
  ProposalTargetConfig cfg;
  cfg.bg_lo = 0.1f;
  Tensor far = Tensor::from_vector<float>({2, 4}, {500, 500, 520, 520, 40, 40, 140, 140});
  ProposalTargets f = proposal_targets(ctx, far, gt, gl, 3, cfg, RngKey{1, 1});
  REQUIRE(f.rois.size(0) == 3);  // 2 GT (fg) + the proposal with IoU 0.25 (bg)
  REQUIRE(vec<int32_t>(f.labels)[2] == 0);
}

TEST_CASE("proposal_targets: no GT boxes gives background only and bad labels throw", "[proposal_targets]") {
  Context ctx;
  Tensor props = random_boxes(300, 3);
  ProposalTargets t = proposal_targets(ctx, props, Tensor::empty({0, 4}), Tensor::empty({0}, DType::I32), 21, {},
                                       RngKey{2, 2});
  REQUIRE(t.rois.size(0) == 128);
  for (int32_t l : vec<int32_t>(t.labels)) REQUIRE(l == 0);
  ProposalTargets e = proposal_targets(ctx, Tensor::empty({0, 4}), Tensor::empty({0, 4}),
                                       Tensor::empty({0}, DType::I32), 21, {}, RngKey{2, 2});
  REQUIRE(e.rois.shape() == Shape{0, 4});
  REQUIRE(e.bbox_targets.shape() == Shape{0, 84});
  Tensor gt = random_boxes(1, 4);
  REQUIRE_THROWS_WITH(proposal_targets(ctx, props, gt, Tensor::from_vector<int32_t>({1}, {21}), 21, {}, RngKey{}),
                      Catch::Contains("gt label 21"));
  REQUIRE_THROWS_WITH(proposal_targets(ctx, props, gt, Tensor::from_vector<int32_t>({1}, {0}), 21, {}, RngKey{}),
                      Catch::Contains("gt label 0"));
}

TEST_CASE("proposal_targets: CPU and CUDA sample the same RoIs", "[proposal_targets][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context cpu, gpu(Device::cuda(0));
  for (int G : {0, 3, 12}) {
    Tensor gt = random_boxes(G, 10 + G, 800, 600, 60, 300);
    std::vector<int32_t> l(G);
    for (int g = 0; g < G; ++g) l[g] = 1 + (g * 7) % 20;
    Tensor gl = Tensor::from_vector<int32_t>({G}, l);
    Tensor props = G ? make_proposals(gt, 1900, 20 + G) : random_boxes(2000, 5);
    RngKey key{uint64_t(G), 5};
    ProposalTargets c = proposal_targets(cpu, props, gt, gl, 21, {}, key);
    ProposalTargets g = proposal_targets(gpu, props.to(gpu.device(), gpu.stream()), gt.to(gpu.device(), gpu.stream()),
                                         gl.to(gpu.device(), gpu.stream()), 21, {}, key);
    INFO("G = " << G);
    REQUIRE(vec<float>(g.rois) == vec<float>(c.rois));
    REQUIRE(vec<int32_t>(g.labels) == vec<int32_t>(c.labels));
    require_close(host(g.bbox_targets), c.bbox_targets, 1e-5, 1e-5, "targets");
    REQUIRE(vec<float>(g.bbox_inside_weights) == vec<float>(c.bbox_inside_weights));
  }
}
