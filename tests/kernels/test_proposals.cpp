#include "kernels/anchors.h"
#include "kernels/box_ops.h"
#include "kernels/nms.h"
#include "kernels/proposals.h"
#include "tests/gpu.h"
#include "tests/kernels/kernel_test_util.h"

using namespace frcnn;
using namespace frcnn::test;

namespace {
struct RpnOut {
  Tensor scores, deltas, anchors;
};
// Random RPN outputs for an H x W map, A = 9 anchors: distinct scores, small deltas.
RpnOut random_rpn(int H, int W, uint32_t seed) {
  RpnOut r;
  r.anchors = make_anchors(H, W, 16, {128, 256, 512}, {0.5f, 1.f, 2.f}, Device::cpu());
  r.scores = distinct_scores(9 * H * W, seed).reshape({9, H, W});
  r.deltas = random_tensor({36, H, W}, seed + 1, -0.5f, 0.5f);
  return r;
}
}  // namespace

TEST_CASE("proposals: equal the composition of decode clip filter sort and nms", "[proposals]") {
  Context ctx;
  const int H = 20, W = 30, A = 9;
  RpnOut r = random_rpn(H, W, 3);
  const float img_h = H * 16, img_w = W * 16, scale = 1.5f;
  ProposalConfig cfg;
  cfg.pre_nms_top_n = 2000;
  cfg.post_nms_top_n = 300;
  Proposals p = proposal_layer(ctx, r.scores, r.deltas, r.anchors, img_h, img_w, scale, cfg);
  // reference from the public ops: deltas (4A, H, W) -> (H, W, A, 4) rows
  std::vector<float> d(A * H * W * 4), s(A * H * W);
  for (int a = 0; a < A; ++a)
    for (int c = 0; c < H * W; ++c) {
      s[c * A + a] = r.scores.data<float>()[a * H * W + c];
      for (int j = 0; j < 4; ++j) d[(c * A + a) * 4 + j] = r.deltas.data<float>()[(a * 4 + j) * H * W + c];
    }
  Tensor boxes = clip_boxes(ctx, decode_boxes(ctx, r.anchors, Tensor::from_vector<float>({A * H * W, 4}, d)), img_h, img_w);
  auto keep = vec<int32_t>(min_size_keep(ctx, boxes, 16 * scale));
  REQUIRE(keep.size() < size_t(A * H * W));  // the filter did something
  std::vector<float> fb, fs;
  for (int k : keep) {
    for (int j = 0; j < 4; ++j) fb.push_back(boxes.data<float>()[4 * k + j]);
    fs.push_back(s[k]);
  }
  const int64_t n = int64_t(keep.size());
  Tensor tb = Tensor::from_vector<float>({n, 4}, fb), ts = Tensor::from_vector<float>({n}, fs);
  auto order = vec<int32_t>(nms(ctx, tb, ts, 2.f));  // IoU never > 2: just the sort
  order.resize(2000);
  std::vector<float> pb, ps;
  for (int i : order) {
    for (int j = 0; j < 4; ++j) pb.push_back(fb[4 * i + j]);
    ps.push_back(fs[i]);
  }
  auto k2 = vec<int32_t>(nms(ctx, Tensor::from_vector<float>({2000, 4}, pb), Tensor::from_vector<float>({2000}, ps), 0.7f));
  k2.resize(std::min<size_t>(k2.size(), 300));
  REQUIRE(p.boxes.size(0) == int64_t(k2.size()));
  for (size_t i = 0; i < k2.size(); ++i) {
    REQUIRE(p.scores.data<float>()[i] == ps[k2[i]]);
    for (int j = 0; j < 4; ++j) REQUIRE(p.boxes.data<float>()[4 * i + j] == pb[4 * k2[i] + j]);
  }
}

TEST_CASE("proposals: invariants and caps", "[proposals]") {
  Context ctx;
  const int H = 38, W = 50;
  RpnOut r = random_rpn(H, W, 5);
  const float img_h = 600, img_w = 800;
  for (auto [pre, post] : {std::pair{12000, 2000}, std::pair{6000, 300}, std::pair{0, 0}}) {
    ProposalConfig cfg;
    cfg.pre_nms_top_n = pre;
    cfg.post_nms_top_n = post;
    Proposals p = proposal_layer(ctx, r.scores, r.deltas, r.anchors, img_h, img_w, 1.f, cfg);
    const int64_t P = p.boxes.size(0);
    INFO("pre " << pre << " post " << post);
    REQUIRE(P > 0);
    if (post > 0) REQUIRE(P <= post);
    auto b = vec<float>(p.boxes);
    auto s = vec<float>(p.scores);
    for (int64_t i = 0; i < P; ++i) {
      if (i) REQUIRE(s[i - 1] >= s[i]);
      REQUIRE(b[4 * i] >= 0.f);
      REQUIRE(b[4 * i + 2] <= img_w);
      REQUIRE(b[4 * i + 3] <= img_h);
      REQUIRE(b[4 * i + 2] - b[4 * i] >= 16.f);
      REQUIRE(b[4 * i + 3] - b[4 * i + 1] >= 16.f);
    }
    auto iou = vec<float>(box_iou(ctx, p.boxes, p.boxes));
    for (int64_t i = 0; i < P; ++i)
      for (int64_t j = i + 1; j < P; ++j) REQUIRE(iou[i * P + j] <= 0.7f);
  }
  // everything filtered out -> empty, no crash
  ProposalConfig big;
  big.min_size = 10000;
  Proposals e = proposal_layer(ctx, r.scores, r.deltas, r.anchors, img_h, img_w, 1.f, big);
  REQUIRE(e.boxes.shape() == Shape{0, 4});
  REQUIRE(e.scores.numel() == 0);
  // empty map
  Proposals z = proposal_layer(ctx, Tensor::empty({9, 0, 5}), Tensor::empty({36, 0, 5}), Tensor::empty({0, 4}), img_h,
                               img_w, 1.f);
  REQUIRE(z.boxes.numel() == 0);
  REQUIRE_THROWS_WITH(proposal_layer(ctx, r.scores, r.scores, r.anchors, img_h, img_w, 1.f),
                      Catch::Contains("deltas"));
}

TEST_CASE("proposals: CPU and CUDA give the same proposals", "[proposals][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context cpu, gpu(Device::cuda(0));
  const int H = 38, W = 50;
  RpnOut r = random_rpn(H, W, 7);
  Tensor gs = r.scores.to(gpu.device(), gpu.stream()), gd = r.deltas.to(gpu.device(), gpu.stream()),
         ga = r.anchors.to(gpu.device(), gpu.stream());
  for (auto [pre, post] : {std::pair{12000, 2000}, std::pair{6000, 300}, std::pair{0, 2000}}) {
    ProposalConfig cfg;
    cfg.pre_nms_top_n = pre;
    cfg.post_nms_top_n = post;
    Proposals pc = proposal_layer(cpu, r.scores, r.deltas, r.anchors, 600, 800, 1.2f, cfg);
    Proposals pg = proposal_layer(gpu, gs, gd, ga, 600, 800, 1.2f, cfg);
    INFO("pre " << pre << " post " << post);
    REQUIRE(pg.boxes.size(0) == pc.boxes.size(0));
    REQUIRE(vec<float>(pg.scores) == vec<float>(pc.scores));
    require_close(host(pg.boxes), pc.boxes, 1e-3, 1e-5, "proposal boxes");
  }
}

TEST_CASE("proposals: CPU and CUDA agree when scores hold NaN and infinities", "[proposals][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context cpu, gpu(Device::cuda(0));
  const int H = 12, W = 16;
  RpnOut r = random_rpn(H, W, 71);
  const float nan = std::nanf("");
  const float specials[] = {nan, -nan, INFINITY, -INFINITY, -0.f};
  float* s = r.scores.data<float>();
  for (int i = 0; i < 9 * H * W; i += 4) s[i] = specials[(i / 4) % 5];
  ProposalConfig cfg;
  cfg.pre_nms_top_n = 0;
  cfg.post_nms_top_n = 0;  // keep everything NMS keeps: the NaN-scored boxes come last
  Proposals pc = proposal_layer(cpu, r.scores, r.deltas, r.anchors, 200, 260, 1.f, cfg);
  Proposals pg = proposal_layer(gpu, r.scores.to(gpu.device()), r.deltas.to(gpu.device()), r.anchors.to(gpu.device()),
                                200, 260, 1.f, cfg);
  REQUIRE(pg.boxes.size(0) == pc.boxes.size(0));
  auto sc = vec<float>(pc.scores), sg = vec<float>(pg.scores);
  int nans = 0;
  for (size_t i = 0; i < sc.size(); ++i) {
    INFO("proposal " << i);
    REQUIRE(std::isnan(sc[i]) == std::isnan(sg[i]));
    if (std::isnan(sc[i])) {
      ++nans;
      if (i + 1 < sc.size()) REQUIRE(std::isnan(sc[i + 1]));  // NaNs only at the end
    } else {
      REQUIRE(sc[i] == sg[i]);
    }
  }
  REQUIRE(nans > 0);
  require_close(host(pg.boxes), pc.boxes, 1e-3, 1e-5, "proposal boxes");
}

namespace {
// The fixed-capacity form against proposal_layer on the CPU; with_gpu: on the device too.
void check_fixed_proposals(bool with_gpu) {
  Context cpu;
  const int H = 38, W = 50;
  RpnOut r = random_rpn(H, W, 9);
  for (auto [pre, post, scale] : {std::tuple{6000, 300, 1.2f}, std::tuple{0, 2000, 0.8f}, std::tuple{500, 0, 1.f}}) {
    INFO("pre " << pre << " post " << post << " scale " << scale);
    ProposalConfig cfg;
    cfg.pre_nms_top_n = pre;
    cfg.post_nms_top_n = post;
    cfg.min_size = 40;  // so the scale's filter drops some
    Tensor ts = Tensor::from_vector<float>({1}, {scale});
    Proposals want = proposal_layer(cpu, r.scores, r.deltas, r.anchors, 600, 800, scale, cfg);
    FixedProposals got = proposal_layer_fixed(cpu, r.scores, r.deltas, r.anchors, 600, 800, ts, cfg);
    const int64_t cap = proposal_capacity(9 * H * W, cfg), P = want.boxes.size(0);
    REQUIRE(got.boxes.shape() == Shape{cap, 4});
    REQUIRE(got.count.data<int32_t>()[0] == P);
    REQUIRE(vec<float>(got.boxes.slice(0, P)) == vec<float>(want.boxes));
    REQUIRE(vec<float>(got.scores.slice(0, P)) == vec<float>(want.scores));
    for (int64_t i = 4 * P; i < 4 * cap; ++i) REQUIRE(got.boxes.data<float>()[i] == 0.f);
    if (!with_gpu) continue;
    Context gpu(Device::cuda(0));
    auto dev = [&](const Tensor& t) { return t.to(gpu.device(), gpu.stream()); };
    FixedProposals g = proposal_layer_fixed(gpu, dev(r.scores), dev(r.deltas), dev(r.anchors), 600, 800, dev(ts), cfg);
    Proposals v = proposal_layer(gpu, dev(r.scores), dev(r.deltas), dev(r.anchors), 600, 800, scale, cfg);
    // On the device: the variable-size form exactly, padding zero; against the CPU as above.
    REQUIRE(vec<int32_t>(g.count) == std::vector<int32_t>{int32_t(P)});
    REQUIRE(vec<float>(g.boxes.slice(0, P)) == vec<float>(v.boxes));
    REQUIRE(vec<float>(g.scores) == vec<float>(got.scores));
    require_close(host(g.boxes), got.boxes, 1e-3, 1e-5, "fixed proposal boxes");
  }
}
}  // namespace

TEST_CASE("proposals: the fixed-capacity form holds proposal_layer's result, zero-padded", "[proposals]") {
  check_fixed_proposals(false);
}

TEST_CASE("proposals: the fixed-capacity form on the device equals the variable-size one and the CPU's",
          "[proposals][gpu]") {
  FRCNN_REQUIRE_GPU();
  check_fixed_proposals(true);
}
