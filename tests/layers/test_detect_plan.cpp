// FasterRCNN::detect on a CUDA device (layers/detect_plan.h): it reproduces the
// variable-size chain it replaced, a replayed CUDA graph gives the eager run's bits, a
// warm detect() waits once and allocates nothing, and plans follow the shape, precision
// and graph setting.
#include <catch2/catch.hpp>

#include "kernels/anchors.h"
#include "kernels/axpy.h"
#include "kernels/box_ops.h"
#include "kernels/losses.h"
#include "kernels/nms.h"
#include "kernels/proposals.h"
#include "kernels/rpn_ops.h"
#include "layers/faster_rcnn.h"
#include "tests/gpu.h"
#include "tests/layers/detect_checks.h"
#include "tests/layers/small_detector.h"
#include "tests/test_util.h"

using namespace frcnn;

namespace {

using test::require_identical;

// The chain detect() ran before it had plans: variable-size proposals (read back), the
// head on exactly those rows, detect_per_class (read back), tensor_scaled.
DetectResult variable_size_detect(FasterRCNN& m, Context& ctx, const Tensor& img, float scale) {
  const ModelConfig& c = m.config();
  m.set_training(false);
  Tensor feat = m.backbone().forward(ctx, img);
  RpnOutput r = m.rpn().forward(ctx, feat);
  const int h = int(feat.size(2)), w = int(feat.size(3));
  Tensor anchors = make_anchors(h, w, c.anchors.stride, c.anchors.sizes, c.anchors.ratios, ctx.device(), ctx.stream());
  const ProposalConfig pc{c.rpn.test_pre_nms, c.rpn.test_post_nms, c.rpn.nms, c.rpn.min_size};
  Proposals p = proposal_layer(ctx, rpn_foreground_probs(ctx, r.logits), r.deltas.reshape({-1, h, w}), anchors,
                               float(img.size(2)), float(img.size(3)), scale, pc);
  DetectResult res;
  res.num_proposals = int(p.boxes.size(0));
  HeadOutput o = m.head().forward(ctx, feat, boxes_to_rois(ctx, p.boxes, 0));
  Tensor boxes = clip_boxes(ctx, decode_boxes(ctx, p.boxes, o.bbox_pred, m.head().coder()), float(img.size(2)),
                            float(img.size(3)));
  Detections d = detect_per_class(ctx, boxes, softmax(ctx, o.cls_score),
                                  DetectConfig{c.test.score_threshold, c.test.nms, c.test.max_per_image});
  res.boxes = tensor_scaled(ctx, 1.f / scale, d.boxes).to(Device::cpu(), ctx.stream());
  res.scores = d.scores.to(Device::cpu(), ctx.stream());
  res.labels = d.labels.to(Device::cpu(), ctx.stream());
  return res;
}

struct Fixture {
  Context gpu{Device::cuda()};
  FasterRCNN m{test::small_detector_config()};
  Tensor img_a, img_b;
  Fixture() {
    m.init(gpu, 7, "msra");
    m.to(gpu);
    img_a = test::random_tensor({1, 3, 96, 128}, 8, -100, 100).to(gpu.device(), gpu.stream());
    img_b = test::random_tensor({1, 3, 96, 128}, 9, -100, 100).to(gpu.device(), gpu.stream());
  }
};

}  // namespace

TEST_CASE("detect plan: CUDA detect() gives the variable-size chain's detections, eager and as a graph",
          "[model][gpu]") {
  FRCNN_REQUIRE_GPU();
  Fixture f;
  for (float scale : {1.f, 0.8f}) {
    INFO("scale " << scale);
    f.m.set_cuda_graphs(false);
    DetectResult eager_a = f.m.detect(f.gpu, f.img_a, scale);
    DetectResult eager_b = f.m.detect(f.gpu, f.img_b, scale);
    REQUIRE(!eager_a.timing.graph);
    REQUIRE(eager_a.scores.numel() > 0);
    DetectResult ref = variable_size_detect(f.m, f.gpu, f.img_a, scale);
#if FRCNN_CUDA_EMULATION
    // The head runs on the fixed capacity's rows; the emulated cuBLAS computes each row
    // alike whatever the row count, so the results are the old chain's bits.
    require_identical(eager_a, ref);
#else
    // cuBLAS may pick another algorithm for another row count: the same detections, within FP32 noise.
    REQUIRE(eager_a.num_proposals == ref.num_proposals);
    REQUIRE(test::require_same_detections(eager_a.boxes, eager_a.scores, eager_a.labels, ref.boxes, ref.scores,
                                          ref.labels, 1e-5f, 1e-3f, 1e-5f) > 0);
#endif
    // Graphs: eager on the first image of the shape, captured on the second, replayed
    // after; images alternate, so a replay that kept the previous image's data fails. At
    // scale 0.8 the graph captured at scale 1 replays: the scale is data, not baked in.
    f.m.set_cuda_graphs(true);
    const bool captured = scale != 1.f;
    const DetectResult* want[] = {&eager_a, &eager_b, &eager_a, &eager_b};
    const Tensor* imgs[] = {&f.img_a, &f.img_b, &f.img_a, &f.img_b};
    for (int i = 0; i < 4; ++i) {
      INFO("graph run " << i);
      DetectResult g = f.m.detect(f.gpu, *imgs[i], scale);
      REQUIRE(g.timing.graph == (captured || i > 0));
      require_identical(g, *want[i]);
    }
  }
}

TEST_CASE("detect plan: a warm detect() waits for the device once and allocates nothing", "[model][gpu]") {
  FRCNN_REQUIRE_GPU();
  Fixture f;
  for (bool graphs : {false, true}) {
    INFO("graphs " << graphs);
    f.m.set_cuda_graphs(graphs);
    for (int i = 0; i < 2; ++i) f.m.detect(f.gpu, f.img_a, 1.f);  // warm: eager, then the capture
    [[maybe_unused]] const auto w = test::warm_call([&] { return f.m.detect(f.gpu, f.img_b, 1.f); }, graphs);
#if FRCNN_CUDA_EMULATION
    const emu::Counters& c = w.counters;
    REQUIRE(c.copies_d2h == 1);  // the packed detections
    if (graphs) {
      REQUIRE(c.launches - c.graph_kernels == 0);  // every kernel came from the graph
      REQUIRE(c.library_calls > 0);                // cuBLAS and CUB, replayed
    } else {
      // The small detector's eager launches (docs/USAGE.md "Inference on a GPU" states them).
      std::printf("eager detect: %lld launches, %lld library calls\n", (long long)c.launches,
                  (long long)c.library_calls);
      REQUIRE(c.launches <= 40);
      REQUIRE(c.library_calls <= 12);
    }
#endif
  }
}

TEST_CASE("detect plan: each shape, precision and graph setting gets its own plan and graph", "[model][gpu]") {
  FRCNN_REQUIRE_GPU();
  Fixture f;
  auto three = [&](const Tensor& img) {
    DetectResult last;
    for (int i = 0; i < 3; ++i) last = f.m.detect(f.gpu, img, 1.f);
    return last;
  };
  three(f.img_a);
  REQUIRE(f.m.detect_plans() == 1);
  REQUIRE(f.m.detect_graphs() == 1);
  Tensor small = test::random_tensor({1, 3, 64, 96}, 10, -100, 100).to(f.gpu.device(), f.gpu.stream());
  DetectResult small_graph = three(small);
  REQUIRE(f.m.detect_plans() == 2);
  REQUIRE(f.m.detect_graphs() == 2);
  // Another precision: its own graph, whose results are that precision's eager ones.
  f.gpu.set_math_mode(MathMode::Bf16);
  DetectResult bf16_graph = three(f.img_a);
  REQUIRE(f.m.detect_graphs() == 3);
  f.m.set_cuda_graphs(false);
  DetectResult bf16_eager = f.m.detect(f.gpu, f.img_a, 1.f);
  REQUIRE(f.m.detect_plans() == 4);
  REQUIRE(f.m.detect_graphs() == 3);
  require_identical(bf16_graph, bf16_eager);
  f.gpu.set_math_mode(MathMode::Fp32);
  require_identical(small_graph, f.m.detect(f.gpu, small, 1.f));
  // Parameters changed in place (a load, an SGD step) are what the next replay reads.
  f.m.set_cuda_graphs(true);
  FasterRCNN other(test::small_detector_config());
  other.init(f.gpu, 99, "msra");
  auto take_params = [&](FasterRCNN& from) {
    for (size_t i = 0; i < f.m.params().size(); ++i) {
      f.m.params()[i]->value.copy_from(from.params()[i]->value, f.gpu.stream());
      f.m.params()[i]->touch();
    }
  };
  take_params(other);
  DetectResult replayed = f.m.detect(f.gpu, f.img_a, 1.f);
  REQUIRE(replayed.timing.graph);
  f.m.set_cuda_graphs(false);
  require_identical(replayed, f.m.detect(f.gpu, f.img_a, 1.f));
  // In bf16 the graph reads the Linear weights' BF16 copies (layers/param_lowp.h), which no
  // replay converts: detect() remakes the stale ones before it replays.
  f.gpu.set_math_mode(MathMode::Bf16);
  f.m.set_cuda_graphs(true);
  const DetectResult bf16_old = f.m.detect(f.gpu, f.img_a, 1.f);
  FasterRCNN third(test::small_detector_config());
  third.init(f.gpu, 123, "msra");
  take_params(third);
  DetectResult bf16_replayed = f.m.detect(f.gpu, f.img_a, 1.f);
  REQUIRE(bf16_replayed.timing.graph);
  REQUIRE(bf16_replayed.scores.to_vector<float>() != bf16_old.scores.to_vector<float>());
  f.m.set_cuda_graphs(false);
  require_identical(bf16_replayed, f.m.detect(f.gpu, f.img_a, 1.f));
  f.gpu.set_math_mode(MathMode::Fp32);
  // Moving the model drops every plan (their graphs hold the old addresses).
  f.m.to(f.gpu);
  REQUIRE(f.m.detect_plans() == 0);
}
