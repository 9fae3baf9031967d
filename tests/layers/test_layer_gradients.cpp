// Central-difference gradient checks of every layer and loss (CPU always; CUDA with
// our kernels and with cuDNN when a GPU is present).
#include <catch2/catch.hpp>

#include "engine/rng.h"
#include "kernels/losses.h"
#include "layers/basic_layers.h"
#include "layers/conv2d_layer.h"
#include "layers/init.h"
#include "layers/linear.h"
#include "tests/gpu.h"
#include "tests/layers/grad_check.h"

using namespace frcnn;
using namespace frcnn::test;

namespace {

Tensor on(Context& ctx, const Tensor& t) { return t.to(ctx.device(), ctx.stream()); }

void init_conv(Context& ctx, Conv2d& c, uint64_t seed) {
  init_gaussian(ctx, c.weight().value, 0.3f, RngKey{seed, 1});
  if (c.options().bias) init_gaussian(ctx, c.bias().value, 0.3f, RngKey{seed, 2});
}

void conv_checks(Context& ctx, ConvBackend backend) {
  struct Case { int64_t n, cin, cout, h, w, k, pad, stride; bool relu; };
  for (Case c : {Case{2, 3, 4, 5, 7, 3, 1, 1, false}, Case{1, 4, 3, 6, 5, 1, 0, 1, false},
                 Case{1, 2, 3, 7, 6, 3, 1, 2, false}, Case{2, 3, 4, 5, 7, 3, 1, 1, true}}) {  // last: fused ReLU
    Conv2dOptions o;
    o.in = c.cin, o.out = c.cout, o.kernel = c.k, o.pad = c.pad, o.stride = c.stride, o.relu = c.relu;
    o.backend = backend;
    Conv2d conv("conv", o);
    conv.to(ctx);
    init_conv(ctx, conv, 11 + c.k);
    Tensor x = on(ctx, random_tensor({c.n, c.cin, c.h, c.w}, 5 + c.k));
    GradCheckOptions gc;
    if (c.relu) gc.eps = 2e-4;  // a weight or bias moves many outputs: a narrow step crosses few ReLU kinks
    check_layer_gradients(ctx, conv, x, gc);
  }
}

void linear_check(Context& ctx) {
  Linear fc("fc", 12, 5);
  fc.to(ctx);
  init_gaussian(ctx, fc.weight().value, 0.3f, RngKey{3, 1});
  init_gaussian(ctx, fc.bias().value, 0.3f, RngKey{3, 2});
  check_layer_gradients(ctx, fc, on(ctx, random_tensor({4, 3, 2, 2}, 9)));
}

void relu_pool_dropout_checks(Context& ctx) {
  ReLU relu("relu");
  check_layer_gradients(ctx, relu, on(ctx, random_tensor({2, 3, 5, 4}, 21)));
  MaxPool2d pool("pool");
  // Odd sizes exercise the ceil-mode last window.
  // Distinct values 0.05 apart (a shuffled ramp), so no switch flips within eps.
  std::vector<float> v(2 * 2 * 7 * 5);
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.05f * float((i * 37) % v.size()) - 1.f;
  check_layer_gradients(ctx, pool, on(ctx, Tensor::from_vector<float>({2, 2, 7, 5}, v)));
  CounterRng rng(99, 3);
  Dropout drop("drop", 0.5f, 6);
  drop.set_rng(&rng);
  check_layer_gradients(ctx, drop, on(ctx, random_tensor({3, 17}, 23)));
}

void loss_checks(Context& ctx) {
  // Cross-entropy with two ignored rows.
  Tensor logits = on(ctx, random_tensor({6, 5}, 31, -2.f, 2.f));
  Tensor labels = on(ctx, Tensor::from_vector<int32_t>({6}, {0, -1, 4, 2, -1, 1}));
  LossResult ce = softmax_cross_entropy(ctx, logits, labels);
  check_gradient("cross-entropy", logits, ce.grad.to_vector<float>(),
                 [&] { return double(softmax_cross_entropy(ctx, logits, labels).loss); });
  // Smooth-L1, RPN sigma 3 and head sigma 1, with weights.
  for (float sigma : {3.f, 1.f}) {
    Tensor pred = on(ctx, random_tensor({4, 8}, 32, -2.f, 2.f));
    Tensor target = on(ctx, random_tensor({4, 8}, 33, -2.f, 2.f));
    Tensor iw = on(ctx, random_tensor({4, 8}, 34, 0.f, 1.f));
    Tensor ow = on(ctx, random_tensor({4, 8}, 35, 0.5f, 1.5f));
    LossResult sl = smooth_l1(ctx, pred, target, iw, ow, sigma, 3.f);
    GradCheckOptions o;
    o.eps = 1e-3;  // narrow quadratic zone at sigma 3 (|x| < 1/9)
    check_gradient("smooth_l1", pred, sl.grad.to_vector<float>(),
                   [&] { return double(smooth_l1(ctx, pred, target, iw, ow, sigma, 3.f).loss); }, o);
  }
}

}  // namespace

TEST_CASE("grad check: conv2d on the CPU", "[layers][gradcheck]") {
  Context ctx;
  conv_checks(ctx, ConvBackend::Own);
}

TEST_CASE("grad check: linear on the CPU", "[layers][gradcheck]") {
  Context ctx;
  linear_check(ctx);
}

TEST_CASE("grad check: relu maxpool dropout on the CPU", "[layers][gradcheck]") {
  Context ctx;
  relu_pool_dropout_checks(ctx);
}

TEST_CASE("grad check: losses on the CPU", "[layers][gradcheck]") {
  Context ctx;
  loss_checks(ctx);
}

TEST_CASE("grad check: sequential conv relu pool linear on the CPU", "[layers][gradcheck]") {
  Context ctx;
  Sequential net("net");
  Conv2dOptions o;
  o.in = 2, o.out = 3;
  auto& conv = net.emplace<Conv2d>("c1", o);
  net.emplace<ReLU>("r1");
  net.emplace<MaxPool2d>("p1");
  auto& fc = net.emplace<Linear>("fc", 3 * 3 * 2, 4);
  init_conv(ctx, conv, 41);
  init_gaussian(ctx, fc.weight().value, 0.3f, RngKey{42, 1});
  check_layer_gradients(ctx, net, random_tensor({2, 2, 5, 4}, 43));
}

TEST_CASE("grad check: conv2d own CUDA kernels", "[layers][gradcheck][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context ctx(Device::cuda());
  conv_checks(ctx, ConvBackend::Own);
}

TEST_CASE("grad check: conv2d cuDNN backend", "[layers][gradcheck][gpu]") {
  FRCNN_REQUIRE_GPU();
  FRCNN_REQUIRE_CUDNN();
#if FRCNN_WITH_CUDNN
  Context ctx(Device::cuda());
  conv_checks(ctx, ConvBackend::Cudnn);
#endif
}

TEST_CASE("grad check: linear relu maxpool dropout losses on CUDA", "[layers][gradcheck][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context ctx(Device::cuda());
  linear_check(ctx);
  relu_pool_dropout_checks(ctx);
  loss_checks(ctx);
}
