#include <catch2/catch.hpp>
#include <cmath>

#include "kernels/rpn_ops.h"
#include "tests/gpu.h"
#include "tests/test_util.h"

using namespace frcnn;

TEST_CASE("rpn_ops: foreground probabilities are the pair softmax in the head's channel order", "[rpn_ops]") {
  Context ctx;
  const int A = 3, H = 4, W = 5;
  Tensor logits = test::random_tensor({1, 2 * A, H, W}, 1, -30, 30);
  Tensor p = rpn_foreground_probs(ctx, logits);
  REQUIRE(p.shape() == Shape{A, H, W});
  const float* l = logits.data<float>();
  for (int a = 0; a < A; ++a)
    for (int i = 0; i < H * W; ++i) {
      double bg = l[(2 * a) * H * W + i], fg = l[(2 * a + 1) * H * W + i];
      double ref = std::exp(fg) / (std::exp(fg) + std::exp(bg));
      REQUIRE(p.data<float>()[a * H * W + i] == Approx(ref).margin(1e-6));
    }
  // Extreme logits stay finite.
  Tensor big = Tensor::from_vector<float>({2, 1, 2}, {1000.f, -1000.f, -1000.f, 1000.f});
  auto v = rpn_foreground_probs(ctx, big).to_vector<float>();
  REQUIRE(v[0] == 0.f);
  REQUIRE(v[1] == 1.f);
  REQUIRE_THROWS_WITH(rpn_foreground_probs(ctx, Tensor::empty({3, 2, 2})), Catch::Contains("(2A, H, W)"));
}

TEST_CASE("rpn_ops: boxes_to_rois prepends the batch index", "[rpn_ops]") {
  Context ctx;
  Tensor b = Tensor::from_vector<float>({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  REQUIRE(boxes_to_rois(ctx, b, 1).to_vector<float>() == std::vector<float>{1, 1, 2, 3, 4, 1, 5, 6, 7, 8});
  REQUIRE(boxes_to_rois(ctx, Tensor::empty({0, 4}), 0).shape() == Shape{0, 5});
  REQUIRE_THROWS(boxes_to_rois(ctx, Tensor::empty({2, 3}), 0));
}

TEST_CASE("rpn_ops: CPU and CUDA agree", "[rpn_ops][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context cpu, gpu(Device::cuda());
  Tensor logits = test::random_tensor({1, 18, 38, 50}, 2, -20, 20);
  Tensor pc = rpn_foreground_probs(cpu, logits);
  Tensor pg = rpn_foreground_probs(gpu, logits.to(Device::cuda()));
  test::require_close(pg.to(Device::cpu()), pc, 1e-6, 1e-5, "fg probs");
  Tensor boxes = test::random_tensor({300, 4}, 3, 0, 600);
  REQUIRE(boxes_to_rois(gpu, boxes.to(Device::cuda()), 2).to_vector<float>() ==
          boxes_to_rois(cpu, boxes, 2).to_vector<float>());
}
