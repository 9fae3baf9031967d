// axpy and the SGD update: hand-computed values on the CPU, CPU vs CUDA bit for bit on
// seeded random input (their per-element maths is shared and FMA-free on both devices).
#include <catch2/catch.hpp>

#include "kernels/axpy.h"
#include "kernels/sgd_update.h"
#include "tests/gpu.h"
#include "tests/test_util.h"

using namespace frcnn;
using namespace frcnn::test;

TEST_CASE("axpy: y += a x on the CPU, any shapes of one size", "[kernels][axpy]") {
  Context ctx;
  Tensor y = Tensor::from_vector<float>({2, 2}, {1.f, 2.f, 3.f, 4.f});
  tensor_axpy(ctx, 0.5f, Tensor::from_vector<float>({4}, {2.f, 4.f, -2.f, 0.f}), y);
  REQUIRE(y.to_vector<float>() == std::vector<float>{2.f, 4.f, 2.f, 4.f});
  REQUIRE_THROWS_WITH(tensor_axpy(ctx, 1.f, Tensor::empty({3}), y), Catch::Contains("differ in size"));
}

TEST_CASE("sgd_update: Caffe's momentum rule on the CPU", "[kernels][sgd]") {
  Context ctx;
  Tensor w = Tensor::from_vector<float>({2}, {1.f, -2.f}), v = Tensor::from_vector<float>({2}, {0.1f, 0.f});
  sgd_update(ctx, w, v, Tensor::from_vector<float>({2}, {0.5f, 0.25f}), 0.1f, 0.9f, 0.01f);
  // v = 0.9 v + 0.1 (g + 0.01 w): {0.09 + 0.051, 0.023}; w -= v
  REQUIRE(v.to_vector<float>()[0] == Approx(0.141f));
  REQUIRE(v.to_vector<float>()[1] == Approx(0.023f));
  REQUIRE(w.to_vector<float>()[0] == Approx(0.859f));
  REQUIRE(w.to_vector<float>()[1] == Approx(-2.023f));
  REQUIRE_THROWS_WITH(sgd_update(ctx, w, v, Tensor::empty({3}), 0.1f, 0.9f, 0.f), Catch::Contains("gradient"));
}

TEST_CASE("axpy and sgd_update: CPU and CUDA agree bit for bit", "[kernels][axpy][sgd][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context cpu, gpu(Device::cuda());
  const int64_t n = 70001;  // more than one grid-stride pass of a block, odd
  Tensor x = random_tensor({n}, 1), y = random_tensor({n}, 2);
  Tensor yd = y.to(gpu.device());
  tensor_axpy(cpu, -0.37f, x, y);
  tensor_axpy(gpu, -0.37f, x.to(gpu.device()), yd);
  gpu.synchronize();
  REQUIRE(yd.to(Device::cpu()).to_vector<float>() == y.to_vector<float>());

  Tensor w = random_tensor({n}, 3), v = random_tensor({n}, 4, -0.01f, 0.01f), g = random_tensor({n}, 5);
  Tensor wd = w.to(gpu.device()), vd = v.to(gpu.device()), gd = g.to(gpu.device());
  for (int step = 0; step < 3; ++step) {
    sgd_update(cpu, w, v, g, 0.01f, 0.9f, 0.0005f);
    sgd_update(gpu, wd, vd, gd, 0.01f, 0.9f, 0.0005f);
  }
  gpu.synchronize();
  REQUIRE(wd.to(Device::cpu()).to_vector<float>() == w.to_vector<float>());
  REQUIRE(vd.to(Device::cpu()).to_vector<float>() == v.to_vector<float>());
}
