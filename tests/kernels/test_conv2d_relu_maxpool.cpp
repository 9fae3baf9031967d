// conv2d_relu_maxpool_forward: the convolution with its ReLU and a non-overlapping max-pool
// in one op. On CUDA the pool is fused into the epilogue of our kernels (FP32 SIMT and the
// tensor-core ones); it must give exactly maxpool2d_forward of the unfused output on the
// same device, in every precision, on shapes with odd output sizes (Caffe's ceil rounding:
// a last window of one row / column), N = 2, both tile heights and a split reduction.
#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>

#include "kernels/conv2d.h"
#include "kernels/maxpool2d.h"
#include "tests/gpu.h"
#include "tests/kernels/kernel_test_util.h"
#include "tests/test_util.h"

using namespace frcnn;
using namespace frcnn::test;

namespace {

struct Case {
  Shape x, w;
  int64_t pad, stride, pool;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {{2, 5, 7, 9}, {6, 5, 3, 3}, 1, 1, 2},       // Ho, Wo = 7, 9: ceil windows; N = 2
      {{1, 8, 10, 6}, {12, 8, 3, 3}, 1, 1, 2},     // even sizes, K % 4 == 0 (16-byte weight copies)
      {{1, 19, 6, 11}, {21, 19, 1, 1}, 0, 1, 3},   // 1x1, pool 3
      {{1, 128, 9, 11}, {72, 128, 3, 3}, 1, 1, 2}, // 128-row tile, split reduction
      {{1, 3, 12, 13}, {64, 3, 3, 3}, 1, 2, 2},    // conv1_1's 3 channels, stride 2
  };
  return c;
}

std::string case_name(const Case& c) {
  std::ostringstream s;
  s << "x " << shape_str(c.x) << " w " << shape_str(c.w) << " pad " << c.pad << " stride " << c.stride << " pool "
    << c.pool;
  return s.str();
}

}  // namespace

TEST_CASE("conv2d relu maxpool: the CPU op is the composition and bad pool sizes are refused", "[kernels][conv2d]") {
  Context cpu;
  const Case& c = cases()[0];
  const Tensor x = random_tensor(c.x, 1), w = random_tensor(c.w, 2), b = random_tensor({c.w[0]}, 3);
  const Tensor got = conv2d_relu_maxpool_forward(cpu, x, w, b, c.pad, c.stride, c.pool);
  const Tensor want = maxpool2d_forward(cpu, conv2d_forward(cpu, x, w, b, c.pad, c.stride, true), 2, 2).y;
  REQUIRE(got.shape() == Shape{2, 6, 4, 5});
  REQUIRE(got.to_vector<float>() == want.to_vector<float>());
  REQUIRE(conv2d_relu_maxpool_forward(cpu, x, w, b, c.pad, c.stride, 1).to_vector<float>() ==
          conv2d_forward(cpu, x, w, b, c.pad, c.stride, true).to_vector<float>());
  REQUIRE_THROWS_WITH(conv2d_relu_maxpool_forward(cpu, x, w, b, c.pad, c.stride, 0),
                      Catch::Contains("pool must be >= 1"));
}

TEST_CASE("conv2d relu maxpool: CUDA fused epilogue equals the unfused conv then maxpool, every precision",
          "[kernels][conv2d][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context gpu(Device::cuda());
  uint32_t seed = 900;
  for (const Case& c : cases()) {
    const Tensor x = random_tensor(c.x, seed++).to(gpu.device()), w = random_tensor(c.w, seed++).to(gpu.device()),
                 b = random_tensor({c.w[0]}, seed++).to(gpu.device());
    for (MathMode m : {MathMode::Fp32, MathMode::Tf32, MathMode::Bf16}) {
      INFO(case_name(c) << ", " << math_mode_name(m));
      gpu.set_math_mode(m);
      const Tensor fused = host(conv2d_relu_maxpool_forward(gpu, x, w, b, c.pad, c.stride, c.pool));
      const Tensor y = conv2d_forward(gpu, x, w, b, c.pad, c.stride, /*relu=*/true);
      const Tensor want = host(maxpool2d_forward(gpu, y, int(c.pool), int(c.pool)).y);
      REQUIRE(fused.shape() == want.shape());
      REQUIRE(fused.to_vector<float>() == want.to_vector<float>());
      // Not trivially zero: the ReLU leaves positive maxima.
      const auto v = fused.to_vector<float>();
      REQUIRE(std::count_if(v.begin(), v.end(), [](float f) { return f > 0.f; }) > int64_t(v.size() / 2));
    }
    gpu.set_math_mode(MathMode::Fp32);
  }
}
