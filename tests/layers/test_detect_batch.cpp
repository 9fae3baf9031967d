// FasterRCNN::detect_batch: B images through one backbone and RPN pass. Images of one
// size give what B detect() calls give, bit for bit; a padded image's detections depend on
// nothing but itself and the blob size, and stay inside it; on CUDA the batch has its own
// plan and graph, waits once and allocates nothing when warm.
#include <catch2/catch.hpp>

#include "layers/faster_rcnn.h"
#include "tests/gpu.h"
#include "tests/layers/detect_checks.h"
#include "tests/layers/small_detector.h"
#include "tests/test_util.h"

using namespace frcnn;

namespace {

using test::require_identical;

struct Model {
  Context ctx;
  FasterRCNN m{test::small_detector_config()};
  explicit Model(Device dev) : ctx(dev) {
    m.init(ctx, 7, "msra");
    m.to(ctx);
  }
  Tensor image(int h, int w, uint32_t seed) {
    return test::random_tensor({1, 3, h, w}, seed, -100, 100).to(ctx.device(), ctx.stream());
  }
};

// Three same-size images at different scales: the batch equals the single calls.
void check_same_size(Model& t) {
  const std::vector<Tensor> imgs = {t.image(96, 128, 1), t.image(96, 128, 2), t.image(96, 128, 3)};
  const std::vector<float> scales = {1.f, 0.8f, 1.25f};
  BatchDetectResult batch = t.m.detect_batch(t.ctx, imgs, scales);
  REQUIRE(batch.images.size() == 3);
  for (size_t i = 0; i < imgs.size(); ++i) {
    INFO("image " << i);
    DetectResult one = t.m.detect(t.ctx, imgs[i], scales[i]);
    REQUIRE(one.scores.numel() > 0);
    require_identical(batch.images[i], one);
  }
}

// A small image padded next to a big one: its detections are the same whatever the big
// image holds, inside its own (original) size; the big one's are detect()'s.
void check_padded(Model& t) {
  Tensor small = t.image(64, 80, 4), big = t.image(96, 128, 5), big2 = t.image(96, 128, 6);
  BatchDetectResult a = t.m.detect_batch(t.ctx, {small, big}, {0.5f, 1.f});
  BatchDetectResult b = t.m.detect_batch(t.ctx, {small, big2}, {0.5f, 1.f});
  REQUIRE(a.images[0].scores.numel() > 0);
  require_identical(a.images[0], b.images[0]);
  require_identical(a.images[1], t.m.detect(t.ctx, big, 1.f));
  require_identical(b.images[1], t.m.detect(t.ctx, big2, 1.f));
  const std::vector<float> boxes = a.images[0].boxes.to_vector<float>();
  for (size_t i = 0; i < boxes.size(); i += 4) {  // original size: 80 / 0.5 x 64 / 0.5
    REQUIRE(boxes[i] >= 0.f);
    REQUIRE(boxes[i + 1] >= 0.f);
    REQUIRE(boxes[i + 2] <= 160.f + 1e-3f);
    REQUIRE(boxes[i + 3] <= 128.f + 1e-3f);
  }
}

}  // namespace

TEST_CASE("detect batch: images of one size give the single-image detections bit for bit", "[model]") {
  Model t(Device::cpu());
  check_same_size(t);
}

TEST_CASE("detect batch: a padded image's detections depend only on itself and stay inside it", "[model]") {
  Model t(Device::cpu());
  check_padded(t);
}

TEST_CASE("detect batch: bad batches are refused naming the image", "[model]") {
  Model t(Device::cpu());
  Tensor img = t.image(64, 80, 1);
  REQUIRE_THROWS_WITH(t.m.detect_batch(t.ctx, {}, {}), Catch::Contains("detect_batch: no images"));
  REQUIRE_THROWS_WITH(t.m.detect_batch(t.ctx, {img, img}, {1.f}), Catch::Contains("2 images but 1 scales"));
  REQUIRE_THROWS_WITH(t.m.detect_batch(t.ctx, {img, Tensor::empty({1, 1, 8, 8})}, {1.f, 1.f}),
                      Catch::Contains("image 1 must be F32 (1, 3, H, W)"));
  REQUIRE_THROWS_WITH(t.m.detect_batch(t.ctx, {img, img}, {1.f, 0.f}),
                      Catch::Contains("the scale of image 1 must be positive"));
}

TEST_CASE("detect batch on CUDA: the single-image detections, padding independence, graph replay", "[model][gpu]") {
  FRCNN_REQUIRE_GPU();
  Model t(Device::cuda());
  for (bool graphs : {false, true}) {
    INFO("graphs " << graphs);
    t.m.set_cuda_graphs(graphs);
#if FRCNN_CUDA_EMULATION
    // The emulated cuBLAS computes a row alike whatever the row count: exact.
    check_same_size(t);
    if (!graphs) check_padded(t);
#else
    // cuBLAS may pick another algorithm for B times the rows: same detections, FP32 noise.
    Tensor a = t.image(96, 128, 1), b = t.image(96, 128, 2);
    BatchDetectResult batch = t.m.detect_batch(t.ctx, {a, b}, {1.f, 0.8f});
    for (int i = 0; i < 2; ++i) {
      DetectResult one = t.m.detect(t.ctx, i ? b : a, i ? 0.8f : 1.f);
      REQUIRE(test::require_same_detections(batch.images[i].boxes, batch.images[i].scores, batch.images[i].labels,
                                            one.boxes, one.scores, one.labels, 1e-5f, 1e-3f, 1e-5f) > 0);
    }
#endif
  }
  // The batch's graph replays give the eager run's bits.
  Tensor a = t.image(96, 128, 7), b = t.image(96, 128, 8);
  t.m.set_cuda_graphs(false);
  BatchDetectResult eager = t.m.detect_batch(t.ctx, {a, b}, {1.f, 0.9f});
  t.m.set_cuda_graphs(true);
  for (int i = 0; i < 3; ++i) {
    INFO("graph run " << i);
    BatchDetectResult g = t.m.detect_batch(t.ctx, {a, b}, {1.f, 0.9f});
    REQUIRE(g.timing.graph == (i > 0));
    for (int k = 0; k < 2; ++k) require_identical(g.images[k], eager.images[k]);
  }
}

TEST_CASE("detect batch on CUDA: a warm batch waits once and allocates nothing", "[model][gpu]") {
  FRCNN_REQUIRE_GPU();
  Model t(Device::cuda());
  Tensor a = t.image(64, 80, 1), b = t.image(96, 128, 2);
  for (bool graphs : {false, true}) {
    INFO("graphs " << graphs);
    t.m.set_cuda_graphs(graphs);
    for (int i = 0; i < 2; ++i) t.m.detect_batch(t.ctx, {a, b}, {1.f, 1.f});  // warm: eager, then the capture
    [[maybe_unused]] const auto w =
        test::warm_call([&] { return t.m.detect_batch(t.ctx, {a, b}, {1.f, 0.8f}); }, graphs);
#if FRCNN_CUDA_EMULATION
    REQUIRE(w.counters.copies_d2h == 2);  // each image's packed detections
#endif
  }
}
