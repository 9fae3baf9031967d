#include <algorithm>

#include "kernels/anchor_targets.h"
#include "kernels/anchors.h"
#include "kernels/box_ops.h"
#include "kernels/sampling.h"
#include "tests/gpu.h"
#include "tests/kernels/kernel_test_util.h"

using namespace frcnn;
using namespace frcnn::test;

namespace {
const float kImgH = 600, kImgW = 800;
Tensor map_anchors() { return make_anchors(38, 50, 16, {128, 256, 512}, {0.5f, 1.f, 2.f}, Device::cpu()); }
Tensor some_gt(int g, uint32_t seed) { return random_boxes(g, seed, kImgW, kImgH, 40.f, 300.f); }
}  // namespace

TEST_CASE("anchor_targets: labels counts weights and targets obey the rules", "[anchor_targets]") {
  Context ctx;
  Tensor anchors = map_anchors(), gt = some_gt(6, 3);
  const int K = int(anchors.size(0)), G = 6;
  AnchorTargetConfig cfg;
  RngKey key{11, 22};
  AnchorTargets t = anchor_targets(ctx, anchors, gt, kImgH, kImgW, cfg, key);
  auto lab = vec<int32_t>(t.labels);
  auto tg = vec<float>(t.bbox_targets), iw = vec<float>(t.bbox_inside_weights), ow = vec<float>(t.bbox_outside_weights);
  auto iou = vec<float>(box_iou(ctx, anchors, gt));
  auto a = vec<float>(anchors);
  int fg = 0, bg = 0;
  for (int k = 0; k < K; ++k) {
    REQUIRE((lab[k] >= -1 && lab[k] <= 1));
    const bool inside = a[4 * k] >= 0 && a[4 * k + 1] >= 0 && a[4 * k + 2] <= kImgW && a[4 * k + 3] <= kImgH;
    if (!inside) REQUIRE(lab[k] == -1);
    float mx = 0;
    int arg = 0;
    for (int g = 0; g < G; ++g)
      if (iou[k * G + g] > mx) mx = iou[k * G + g], arg = g;
    if (lab[k] == 0) REQUIRE(mx < 0.3f);
    fg += lab[k] == 1;
    bg += lab[k] == 0;
    if (lab[k] == 1) {
      for (int j = 0; j < 4; ++j) REQUIRE(iw[4 * k + j] == 1.f);
      // the target decodes back to the assigned GT
      Tensor back = decode_boxes(ctx, anchors.slice(k, k + 1), t.bbox_targets.slice(k, k + 1));
      require_close(back, gt.slice(arg, arg + 1), 1e-2, 1e-4, "decoded target");
    } else {
      for (int j = 0; j < 4; ++j) REQUIRE((tg[4 * k + j] == 0.f && iw[4 * k + j] == 0.f));
    }
    for (int j = 0; j < 4; ++j) REQUIRE(ow[4 * k + j] == (lab[k] >= 0 ? 1.f / 256 : 0.f));
  }
  REQUIRE(fg > 0);
  REQUIRE(fg <= 128);
  REQUIRE(fg + bg == 256);
  // every GT keeps a positive anchor at its best IoU (fewer than 128 candidates here)
  for (int g = 0; g < G; ++g) {
    float best = 0;
    for (int k = 0; k < K; ++k)
      if (a[4 * k] >= 0 && a[4 * k + 1] >= 0 && a[4 * k + 2] <= kImgW && a[4 * k + 3] <= kImgH)
        best = std::max(best, iou[k * G + g]);
    bool has = false;
    for (int k = 0; k < K; ++k) has |= lab[k] == 1 && iou[k * G + g] == best;
    INFO("gt " << g);
    REQUIRE(has);
  }
}

TEST_CASE("anchor_targets: sampled negatives are those with the smallest keys", "[anchor_targets]") {
  Context ctx;
  Tensor anchors = map_anchors(), gt = some_gt(3, 5);
  RngKey key{1, 2};
  AnchorTargetConfig cfg;
  cfg.neg_iou = 0.3f;
  auto lab = vec<int32_t>(anchor_targets(ctx, anchors, gt, kImgH, kImgW, cfg, key).labels);
  // candidates for background: inside and max IoU < 0.3 (recomputed)
  auto iou = vec<float>(box_iou(ctx, anchors, gt));
  auto a = vec<float>(anchors);
  std::vector<std::pair<float, int>> cand;
  int fg = 0;
  for (int k = 0; k < int(lab.size()); ++k) {
    fg += lab[k] == 1;
    const bool inside = a[4 * k] >= 0 && a[4 * k + 1] >= 0 && a[4 * k + 2] <= kImgW && a[4 * k + 3] <= kImgH;
    float mx = std::max({iou[3 * k], iou[3 * k + 1], iou[3 * k + 2]});
    if (inside && mx < 0.3f && lab[k] != 1) cand.push_back({key.uniform(k), k});
  }
  std::sort(cand.begin(), cand.end());
  const size_t nbg = size_t(256 - fg);
  REQUIRE(cand.size() > nbg);
  for (size_t i = 0; i < cand.size(); ++i) REQUIRE(lab[cand[i].second] == (i < nbg ? 0 : -1));
  // another key samples other anchors; the same key the same ones
  auto again = vec<int32_t>(anchor_targets(ctx, anchors, gt, kImgH, kImgW, cfg, key).labels);
  REQUIRE(again == lab);
  auto other = vec<int32_t>(anchor_targets(ctx, anchors, gt, kImgH, kImgW, cfg, RngKey{1, 3}).labels);
  REQUIRE(other != lab);
}

TEST_CASE("anchor_targets: no GT boxes gives only negatives", "[anchor_targets]") {
  Context ctx;
  Tensor anchors = map_anchors();
  AnchorTargets t = anchor_targets(ctx, anchors, Tensor::empty({0, 4}), kImgH, kImgW, {}, RngKey{3, 4});
  auto lab = vec<int32_t>(t.labels);
  REQUIRE(std::count(lab.begin(), lab.end(), 1) == 0);
  REQUIRE(std::count(lab.begin(), lab.end(), 0) == 256);
  for (float v : vec<float>(t.bbox_targets)) REQUIRE(v == 0.f);
  // zero anchors
  AnchorTargets e = anchor_targets(ctx, Tensor::empty({0, 4}), some_gt(2, 1), kImgH, kImgW, {}, RngKey{});
  REQUIRE(e.labels.numel() == 0);
  REQUIRE(e.bbox_outside_weights.shape() == Shape{0, 4});
}

TEST_CASE("anchor_targets: degenerate and outside GT boxes do not crash", "[anchor_targets]") {
  Context ctx;
  Tensor anchors = map_anchors();
  // zero-area box, a box entirely outside the image, and a normal one
  Tensor gt = Tensor::from_vector<float>({3, 4}, {100, 100, 100, 100, 2000, 2000, 2100, 2100, 300, 200, 450, 330});
  AnchorTargets t = anchor_targets(ctx, anchors, gt, kImgH, kImgW, {}, RngKey{5, 6});
  auto lab = vec<int32_t>(t.labels);
  const auto fg = std::count(lab.begin(), lab.end(), 1);
  REQUIRE(fg > 0);
  REQUIRE(fg + std::count(lab.begin(), lab.end(), 0) == 256);
  for (float v : vec<float>(t.bbox_targets)) REQUIRE(std::isfinite(v));
  // labels only from the real box: every positive overlaps it
  auto iou = vec<float>(box_iou(ctx, anchors, gt));
  for (size_t k = 0; k < lab.size(); ++k)
    if (lab[k] == 1) REQUIRE(iou[3 * k + 2] > 0.f);
}

TEST_CASE("anchor_targets: CPU and CUDA sample the same anchors", "[anchor_targets][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context cpu, gpu(Device::cuda(0));
  Tensor anchors = map_anchors();
  Tensor ga = anchors.to(gpu.device(), gpu.stream());
  for (int G : {0, 1, 5, 40}) {
    Tensor gt = some_gt(G, 100 + G);
    // one GT shares its box with another to create best-anchor ties
    if (G >= 5) for (int j = 0; j < 4; ++j) gt.data<float>()[4 * 4 + j] = gt.data<float>()[j];
    AnchorTargetConfig cfg;
    RngKey key{uint64_t(G), 77};
    AnchorTargets c = anchor_targets(cpu, anchors, gt, kImgH, kImgW, cfg, key);
    AnchorTargets g = anchor_targets(gpu, ga, gt.to(gpu.device(), gpu.stream()), kImgH, kImgW, cfg, key);
    INFO("G = " << G);
    REQUIRE(vec<int32_t>(g.labels) == vec<int32_t>(c.labels));
    require_close(host(g.bbox_targets), c.bbox_targets, 1e-5, 1e-5, "targets");
    REQUIRE(vec<float>(g.bbox_inside_weights) == vec<float>(c.bbox_inside_weights));
    REQUIRE(vec<float>(g.bbox_outside_weights) == vec<float>(c.bbox_outside_weights));
  }
}
