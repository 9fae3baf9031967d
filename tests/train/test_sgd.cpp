// SGD: Caffe's update against hand-computed numbers, lr policy, frozen params,
// momentum buffers by name; a tiny two-layer model that overfits a batch (CPU, CUDA).
#include <catch2/catch.hpp>

#include "kernels/losses.h"
#include "layers/basic_layers.h"
#include "layers/init.h"
#include "layers/linear.h"
#include "tests/gpu.h"
#include "tests/test_util.h"
#include "train/sgd.h"

using namespace frcnn;
using namespace frcnn::test;

TEST_CASE("sgd: two steps match the hand-computed Caffe update", "[train][sgd]") {
  Context ctx;
  Param w{"w", Tensor::from_vector<float>({2}, {1.f, -2.f}), Tensor::from_vector<float>({2}, {0.5f, 0.25f})};
  Param b{"b", Tensor::from_vector<float>({1}, {3.f}), Tensor::from_vector<float>({1}, {1.f}), 2.f, 0.f};
  Param f{"f", Tensor::from_vector<float>({1}, {7.f}), Tensor::from_vector<float>({1}, {1.f})};
  f.frozen = true;
  SgdConfig c;
  c.base_lr = 0.1f, c.momentum = 0.9f, c.weight_decay = 0.01f;
  Sgd sgd(c);
  sgd.step(ctx, {&w, &b, &f}, 0);
  // w: v = 0.1 * (g + 0.01 w) = {0.051, 0.023}; w = {0.949, -2.023}
  // b: v = 0.2 * 1 = 0.2 (no decay); b = 2.8
  REQUIRE(w.value.to_vector<float>()[0] == Approx(0.949f));
  REQUIRE(w.value.to_vector<float>()[1] == Approx(-2.023f));
  REQUIRE(b.value.item() == Approx(2.8));
  REQUIRE(f.value.item() == 7.0);
  REQUIRE(sgd.momentum_buffers().count("f") == 0);
  sgd.step(ctx, {&w, &b, &f}, 1);
  // w0: v = 0.9*0.051 + 0.1*(0.5 + 0.01*0.949) = 0.0459 + 0.050949 = 0.096849; w0 = 0.852151
  REQUIRE(w.value.to_vector<float>()[0] == Approx(0.852151f).epsilon(1e-5));
  REQUIRE(sgd.momentum_buffers().at("w").to_vector<float>()[0] == Approx(0.096849f).epsilon(1e-5));
  // b: v = 0.9*0.2 + 0.2 = 0.38; b = 2.42
  REQUIRE(b.value.item() == Approx(2.42));
  // Each step touches what it updated (so bf16 copies are remade), not the frozen one.
  REQUIRE(w.version == 2);
  REQUIRE(b.version == 2);
  REQUIRE(f.version == 0);
}

TEST_CASE("sgd: step learning-rate policy and momentum restore", "[train][sgd]") {
  SgdConfig c;
  c.base_lr = 0.001f, c.stepsize = 30000;
  Sgd sgd(c);
  REQUIRE(sgd.learning_rate(0) == Approx(0.001f));
  REQUIRE(sgd.learning_rate(29999) == Approx(0.001f));
  REQUIRE(sgd.learning_rate(30000) == Approx(0.0001f));
  REQUIRE(sgd.learning_rate(60000) == Approx(0.00001f));

  Context ctx;
  Param w{"w", Tensor::from_vector<float>({1}, {1.f}), Tensor::from_vector<float>({1}, {1.f})};
  Param w2{"w", Tensor::from_vector<float>({1}, {1.f}), Tensor::from_vector<float>({1}, {1.f})};
  Sgd a(c), b(c);
  a.step(ctx, {&w}, 0);
  b.set_momentum("w", a.momentum_buffers().at("w"), ctx);
  w2.value.copy_from(w.value);
  a.step(ctx, {&w}, 1);
  b.step(ctx, {&w2}, 1);
  REQUIRE(w.value.item() == w2.value.item());
  Param bad{"w", Tensor::zeros({2}), Tensor::zeros({2})};
  REQUIRE_THROWS_WITH(a.step(ctx, {&bad}, 2), Catch::Contains("momentum of 'w'"));
  Param nograd{"ng", Tensor::zeros({2}), Tensor()};
  REQUIRE_THROWS_WITH(a.step(ctx, {&nograd}, 2), Catch::Contains("'ng' has no gradient"));
}

namespace {

// fc1 (8 -> 16) -> ReLU -> fc2 (16 -> 3), softmax cross-entropy on 12 fixed samples.
// Returns (first loss, last loss) after `iters` SGD steps.
std::pair<float, float> overfit(Context& ctx, int iters) {
  Sequential net("mlp");
  auto& fc1 = net.emplace<Linear>("fc1", 8, 16);
  net.emplace<ReLU>("relu1");
  auto& fc2 = net.emplace<Linear>("fc2", 16, 3);
  init_gaussian(ctx, fc1.weight().value, 0.3f, RngKey{1, 1});
  init_gaussian(ctx, fc2.weight().value, 0.3f, RngKey{1, 2});
  net.to(ctx);
  Tensor x = random_tensor({12, 8}, 5).to(ctx.device(), ctx.stream());
  std::vector<int32_t> lab{0, 1, 2, 0, 1, 2, 2, 1, 0, 0, 2, 1};
  Tensor labels = Tensor::from_vector<int32_t>({12}, lab).to(ctx.device(), ctx.stream());
  SgdConfig c;
  c.base_lr = 0.1f;
  Sgd sgd(c);
  auto ps = net.params();
  float first = 0, last = 0;
  for (int it = 0; it < iters; ++it) {
    zero_grad(ctx, ps);
    LossResult l = softmax_cross_entropy(ctx, net.forward(ctx, x), labels);
    net.backward(ctx, l.grad);
    sgd.step(ctx, ps, it);
    if (it == 0) first = l.loss;
    last = l.loss;
  }
  return {first, last};
}

}  // namespace

TEST_CASE("sgd: a two-layer model overfits a small batch on the CPU", "[train][sgd]") {
  Context ctx;
  auto [first, last] = overfit(ctx, 300);
  INFO("loss " << first << " -> " << last);
  REQUIRE(last < first / 20);  // stated factor: 20x
}

TEST_CASE("sgd: a two-layer model overfits a small batch on CUDA", "[train][sgd][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context ctx(Device::cuda());
  Context cpu;
  auto [first, last] = overfit(ctx, 300);
  auto [cfirst, clast] = overfit(cpu, 300);
  INFO("loss " << first << " -> " << last << " (CPU " << cfirst << " -> " << clast << ")");
  REQUIRE(last < first / 20);
  REQUIRE(first == Approx(cfirst).epsilon(1e-4));
}
