// Layer interface behaviour: Sequential, propagate_down, frozen params, eval mode,
// save/load by name, init determinism, dropout mask, bad input.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/safetensors.h"
#include "kernels/dropout.h"
#include "kernels/maxpool2d.h"
#include "layers/basic_layers.h"
#include "layers/conv2d_layer.h"
#include "layers/init.h"
#include "layers/linear.h"
#include "tests/test_util.h"

using namespace frcnn;
using namespace frcnn::test;

TEST_CASE("layers: maxpool output uses ceil rounding", "[layers]") {
  REQUIRE(maxpool2d_out_size(7, 2, 2) == 4);
  REQUIRE(maxpool2d_out_size(8, 2, 2) == 4);
  REQUIRE(maxpool2d_out_size(1, 2, 2) == 1);
  REQUIRE(maxpool2d_out_size(75, 2, 2) == 38);  // VGG16 at 600: 600 300 150 75 38
}

TEST_CASE("layers: sequential params keep their names and grads accumulate", "[layers]") {
  Context ctx;
  Sequential net("net");
  Conv2dOptions o;
  o.in = 3, o.out = 4;
  net.emplace<Conv2d>("conv1_1", o);
  net.emplace<ReLU>("relu1_1");
  net.emplace<Linear>("fc6", 4 * 5 * 5, 2);
  auto ps = net.params();
  REQUIRE(ps.size() == 4);
  REQUIRE(ps[0]->name == "conv1_1.weight");
  REQUIRE(ps[0]->value.shape() == Shape{4, 3, 3, 3});
  REQUIRE(ps[1]->name == "conv1_1.bias");
  REQUIRE(ps[1]->lr_mult == 2.f);
  REQUIRE(ps[1]->decay_mult == 0.f);
  REQUIRE(ps[3]->name == "fc6.bias");
  for (Param* p : ps) init_gaussian(ctx, p->value, 0.1f, RngKey{1, std::hash<std::string>{}(p->name)});
  Tensor x = random_tensor({2, 3, 5, 5}, 1);
  Tensor gy = random_tensor({2, 2}, 2);
  zero_grad(ctx, ps);
  net.forward(ctx, x);
  net.backward(ctx, gy);
  std::vector<float> g1 = ps[0]->grad.to_vector<float>();
  net.forward(ctx, x);
  net.backward(ctx, gy);
  std::vector<float> g2 = ps[0]->grad.to_vector<float>();
  for (size_t i = 0; i < g1.size(); ++i) REQUIRE(g2[i] == Approx(2 * g1[i]).margin(1e-6));
}

TEST_CASE("layers: propagate_down false skips dL/dx and frozen params get no grad", "[layers]") {
  Context ctx;
  Conv2dOptions o;
  o.in = 2, o.out = 2;
  Conv2d conv("conv1_1", o);
  init_gaussian(ctx, conv.weight().value, 0.1f, RngKey{2, 0});
  conv.set_propagate_down(false);
  conv.forward(ctx, random_tensor({1, 2, 4, 4}, 3));
  REQUIRE_FALSE(conv.backward(ctx, random_tensor({1, 2, 4, 4}, 4)).defined());
  REQUIRE(conv.weight().grad.defined());

  Linear fc("fc", 3, 2);
  fc.set_frozen(true);
  fc.forward(ctx, random_tensor({2, 3}, 5));
  Tensor gx = fc.backward(ctx, random_tensor({2, 2}, 6));
  REQUIRE(gx.shape() == Shape{2, 3});
  REQUIRE_FALSE(fc.weight().grad.defined());
}

TEST_CASE("layers: backward without a training forward throws", "[layers]") {
  Context ctx;
  ReLU relu("relu");
  relu.set_training(false);
  relu.forward(ctx, random_tensor({4}, 1));
  REQUIRE_THROWS_WITH(relu.backward(ctx, random_tensor({4}, 2)), Catch::Contains("relu: backward called without"));
}

TEST_CASE("layers: dropout keeps about half and scales by two and is the identity in eval", "[layers]") {
  Context ctx;
  CounterRng rng(5, 0);
  Dropout drop("drop6", 0.5f, 6);
  drop.set_rng(&rng);
  Tensor x = Tensor::full({10000}, 1.0);
  std::vector<float> y = drop.forward(ctx, x).to_vector<float>();
  int kept = 0;
  for (float v : y) {
    REQUIRE((v == 0.f || v == 2.f));
    kept += v == 2.f;
  }
  REQUIRE(kept > 4800);
  REQUIRE(kept < 5200);
  // Same rng step: same mask; next step: a different one.
  REQUIRE(drop.forward(ctx, x).to_vector<float>() == y);
  rng.advance();
  REQUIRE(drop.forward(ctx, x).to_vector<float>() != y);
  drop.set_training(false);
  REQUIRE(drop.forward(ctx, x).to_vector<float>() == x.to_vector<float>());
  Dropout no_rng("d", 0.5f);
  REQUIRE_THROWS_WITH(no_rng.forward(ctx, x), Catch::Contains("set_rng"));
}

TEST_CASE("layers: each image of a minibatch gets its own dropout mask", "[layers]") {
  Context ctx;
  CounterRng rng(5, 3);
  Dropout drop("drop6", 0.5f, 6);
  Tensor x = Tensor::full({4096}, 1.0);
  drop.set_rng(&rng, 0);
  const std::vector<float> image0 = drop.forward(ctx, x).to_vector<float>();
  drop.set_rng(&rng, 1);
  const std::vector<float> image1 = drop.forward(ctx, x).to_vector<float>();
  REQUIRE(image0 != image1);
  // The masks are independent: about a quarter of the elements are kept by both.
  int both = 0;
  for (size_t i = 0; i < image0.size(); ++i) both += image0[i] != 0.f && image1[i] != 0.f;
  REQUIRE(both > 900);
  REQUIRE(both < 1150);
  // Backward uses the mask of the last forward (image 1's), and slot 0 repeats its mask.
  REQUIRE(drop.backward(ctx, x).to_vector<float>() == image1);
  drop.set_rng(&rng, 0);
  REQUIRE(drop.forward(ctx, x).to_vector<float>() == image0);
}

TEST_CASE("layers: init is deterministic with the requested statistics", "[layers]") {
  Context ctx;
  Tensor a = Tensor::empty({256, 64, 3, 3}), b = Tensor::empty({256, 64, 3, 3});
  init_gaussian(ctx, a, 0.01f, RngKey{7, 1});
  init_gaussian(ctx, b, 0.01f, RngKey{7, 1});
  std::vector<float> va = a.to_vector<float>();
  REQUIRE(va == b.to_vector<float>());
  double s = 0, s2 = 0;
  for (float v : va) s += v, s2 += double(v) * v;
  const double n = double(va.size()), mean = s / n, sd = std::sqrt(s2 / n - mean * mean);
  REQUIRE(std::fabs(mean) < 1e-3 * 0.01 * 10);
  REQUIRE(sd == Approx(0.01).epsilon(0.01));
  init_msra(ctx, b, RngKey{7, 2});
  double q = 0;
  for (float v : b.to_vector<float>()) q += double(v) * v;
  REQUIRE(std::sqrt(q / n) == Approx(std::sqrt(2.0 / (64 * 9))).epsilon(0.02));
  init_xavier(ctx, b, RngKey{7, 3});
  const double lim = std::sqrt(6.0 / (64 * 9 + 256 * 9));
  for (float v : b.to_vector<float>()) REQUIRE(std::fabs(v) <= lim);
}

TEST_CASE("layers: params save and load by name with shape checks", "[layers]") {
  Context ctx;
  auto dir = temp_dir("layers_params");
  Linear a("fc7", 4, 3), b("fc7", 4, 3), wrong("fc7", 5, 3), other("fc8", 4, 3);
  init_gaussian(ctx, a.weight().value, 0.1f, RngKey{1, 1});
  init_gaussian(ctx, a.bias().value, 0.1f, RngKey{1, 2});
  std::string path = (dir / "p.safetensors").string();
  save_params(path, a.params(), {{"stage", "test"}});
  load_params(ctx, path, b.params());
  REQUIRE(b.weight().value.to_vector<float>() == a.weight().value.to_vector<float>());
  REQUIRE(b.bias().value.to_vector<float>() == a.bias().value.to_vector<float>());
  REQUIRE(load_safetensors(path).meta("stage") == "test");
  REQUIRE_THROWS_WITH(load_params(ctx, path, wrong.params()), Catch::Contains("fc7.weight"));
  REQUIRE_THROWS_WITH(load_params(ctx, path, other.params()), Catch::Contains("'fc8.weight' not found"));
  REQUIRE(load_params(ctx, path, other.params(), true).size() == 2);
}

TEST_CASE("layers: bad shapes and options give clear errors", "[layers]") {
  Context ctx;
  Conv2dOptions o;
  o.in = 3, o.out = 4;
  Conv2d conv("conv1_1", o);
  REQUIRE_THROWS_WITH(conv.forward(ctx, random_tensor({1, 2, 5, 5}, 1)), Catch::Contains("channels"));
  Linear fc("fc6", 10, 2);
  REQUIRE_THROWS_WITH(fc.forward(ctx, random_tensor({2, 9}, 1)), Catch::Contains("fc6"));
  REQUIRE_THROWS_AS(parse_conv_backend("cublas"), std::invalid_argument);
  REQUIRE(parse_conv_backend("cudnn") == ConvBackend::Cudnn);
  REQUIRE_THROWS_AS(Dropout("d", 1.0f), std::invalid_argument);
  MaxPool2d pool("p");
  REQUIRE_THROWS_AS(pool.forward(ctx, random_tensor({2, 3}, 1)), std::invalid_argument);
}
