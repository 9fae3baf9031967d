// CPU vs CUDA for relu, dropout, maxpool2d and the losses on fresh seeded input ([gpu]),
// plus CPU-side behaviour of these ops.
#include <catch2/catch.hpp>

#include "kernels/dropout.h"
#include "kernels/losses.h"
#include "kernels/maxpool2d.h"
#include "kernels/relu.h"
#include "tests/gpu.h"
#include "tests/test_util.h"

using namespace frcnn;
using namespace frcnn::test;

TEST_CASE("relu: forward and backward on the CPU", "[kernels][relu]") {
  Context ctx;
  Tensor x = Tensor::from_vector<float>({4}, {-1.f, 0.f, 2.f, -3.f});
  Tensor y = relu_forward(ctx, x);
  REQUIRE(y.to_vector<float>() == std::vector<float>{0.f, 0.f, 2.f, 0.f});
  Tensor g = relu_backward(ctx, y, Tensor::full({4}, 5.0));
  REQUIRE(g.to_vector<float>() == std::vector<float>{0.f, 0.f, 5.f, 0.f});
  relu_forward(ctx, x, true);
  REQUIRE(x.to_vector<float>() == y.to_vector<float>());
}

TEST_CASE("losses: all-ignored cross-entropy is zero and bad labels throw", "[kernels][losses]") {
  Context ctx;
  Tensor logits = random_tensor({3, 4}, 1);
  LossResult r = softmax_cross_entropy(ctx, logits, Tensor::from_vector<int32_t>({3}, {-1, -1, -1}));
  REQUIRE(r.loss == 0.f);
  for (float g : r.grad.to_vector<float>()) REQUIRE(g == 0.f);
  REQUIRE_THROWS_WITH(softmax_cross_entropy(ctx, logits, Tensor::from_vector<int32_t>({3}, {0, 4, 1})),
                      Catch::Contains("label 4"));
  REQUIRE_THROWS_AS(smooth_l1(ctx, logits, logits, Tensor(), Tensor(), 0.f, 1.f), std::invalid_argument);
}

TEST_CASE("dense ops: CPU vs CUDA parity", "[kernels][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context cpu, gpu(Device::cuda());
  auto dev = [&](const Tensor& t) { return t.to(gpu.device(), gpu.stream()); };
  auto host = [&](const Tensor& t) { gpu.synchronize(); return t.to(Device::cpu()); };

  Tensor x = random_tensor({3, 5, 17, 23}, 1);
  Tensor y = relu_forward(cpu, x);
  require_close(host(relu_forward(gpu, dev(x))), y, 0, 0, "relu");
  Tensor gy = random_tensor(x.shape(), 2);
  require_close(host(relu_backward(gpu, dev(y), dev(gy))), relu_backward(cpu, y, gy), 0, 0, "relu backward");

  RngKey key{77, 1234};
  require_close(host(dropout_apply(gpu, dev(x), 0.5f, key)), dropout_apply(cpu, x, 0.5f, key), 0, 0, "dropout mask");

  // Max pool: distinct values (a shuffled ramp), odd sizes, exact match including argmax.
  std::vector<float> v(size_t(x.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = float((i * 7919) % v.size());
  Tensor px = Tensor::from_vector<float>(x.shape(), v);
  MaxPool2dResult pc = maxpool2d_forward(cpu, px), pg = maxpool2d_forward(gpu, dev(px));
  require_close(host(pg.y), pc.y, 0, 0, "maxpool y");
  REQUIRE(host(pg.argmax).to_vector<int32_t>() == pc.argmax.to_vector<int32_t>());
  Tensor pgy = random_tensor(pc.y.shape(), 3);
  require_close(host(maxpool2d_backward(gpu, dev(pgy), pg.argmax, px.shape())),
                maxpool2d_backward(cpu, pgy, pc.argmax, px.shape()), 0, 0, "maxpool backward");

  Tensor logits = random_tensor({300, 21}, 4, -3.f, 3.f);
  std::vector<int32_t> lab(300);
  for (int i = 0; i < 300; ++i) lab[size_t(i)] = i % 7 == 0 ? -1 : i % 21;
  Tensor labels = Tensor::from_vector<int32_t>({300}, lab);
  LossResult cc = softmax_cross_entropy(cpu, logits, labels), cg = softmax_cross_entropy(gpu, dev(logits), dev(labels));
  REQUIRE(cg.loss == Approx(cc.loss).epsilon(1e-5));
  require_close(host(cg.grad), cc.grad, 1e-7, 1e-4, "cross-entropy grad");
  require_close(host(softmax(gpu, dev(logits))), softmax(cpu, logits), 1e-7, 1e-5, "softmax");
  REQUIRE_THROWS_WITH(softmax_cross_entropy(gpu, dev(logits), dev(Tensor::full({300}, 21.0, DType::I32))),
                      Catch::Contains("outside"));

  Tensor pred = random_tensor({2000, 4}, 5, -2.f, 2.f), target = random_tensor({2000, 4}, 6, -2.f, 2.f);
  Tensor iw = random_tensor({2000, 4}, 7, 0.f, 1.f), ow = random_tensor({2000, 4}, 8, 0.f, 1.f);
  LossResult sc = smooth_l1(cpu, pred, target, iw, ow, 3.f, 256.f);
  LossResult sg = smooth_l1(gpu, dev(pred), dev(target), dev(iw), dev(ow), 3.f, 256.f);
  REQUIRE(sg.loss == Approx(sc.loss).epsilon(1e-5));
  require_close(host(sg.grad), sc.grad, 1e-7, 1e-5, "smooth_l1 grad");
}
