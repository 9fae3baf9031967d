// conv2d on the CPU: the oneDNN forward (what conv2d_forward runs on a CPU context) against
// the im2col + OpenBLAS reference (conv2d_forward_cpu), on random seeded odd shapes.
//
// Tolerance: both are FP32 sums of K = Cin*KH*KW products in different orders, so each is
// within gamma(K) * S of the exact value, S = sum |x| |w| + |b| (the same sum in absolute
// values); their difference within 2 gamma(K) S, gamma(K) = K u / (1 - K u), u = 2^-24.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "kernels/conv2d.h"
#include "kernels/conv2d_onednn.h"
#include "tests/test_util.h"

using namespace frcnn;
using namespace frcnn::test;

namespace {

struct Case {
  Shape x, w;
  int64_t pad, stride;
  bool bias;
};

std::vector<float> abs_of(const Tensor& t) {
  std::vector<float> v = t.to_vector<float>();
  for (float& e : v) e = std::fabs(e);
  return v;
}

std::vector<float> reference(const Conv2dGeom& g, const std::vector<float>& x, const std::vector<float>& w,
                             const float* b) {
  std::vector<float> y(size_t(g.N * g.Cout * g.Ho * g.Wo));
  conv2d_forward_cpu(g, x.data(), w.data(), b, y.data());
  return y;
}

}  // namespace

TEST_CASE("conv2d oneDNN: the CPU forward matches the im2col reference within the FP32 sum bound",
          "[kernels][conv2d][onednn]") {
  Context ctx;
  const Case cases[] = {
      {{1, 3, 17, 23}, {5, 3, 3, 3}, 1, 1, true},      // odd channels and sizes
      {{2, 13, 9, 14}, {7, 13, 3, 3}, 1, 2, true},     // N = 2, stride 2
      {{2, 19, 8, 11}, {18, 19, 1, 1}, 0, 1, true},    // 1x1 (the RPN heads)
      {{1, 64, 20, 31}, {64, 64, 3, 3}, 1, 1, false},  // VGG-like, no bias
      {{1, 5, 6, 7}, {3, 5, 3, 3}, 0, 3, true},        // stride that does not divide the span
  };
  uint32_t seed = 40;
  for (const Case& c : cases) {
    const Conv2dGeom g = conv2d_geom(c.x, c.w, c.pad, c.stride);
    INFO("x " << shape_str(c.x) << ", w " << shape_str(c.w) << ", pad " << c.pad << ", stride " << c.stride);
    const Tensor x = random_tensor(c.x, seed += 3), w = random_tensor(c.w, seed + 1),
                 b = c.bias ? random_tensor({c.w[0]}, seed + 2) : Tensor();
    const Tensor y = conv2d_forward(ctx, x, w, b, c.pad, c.stride);
    REQUIRE(y.shape() == Shape{g.N, g.Cout, g.Ho, g.Wo});
    const std::vector<float> bv = c.bias ? b.to_vector<float>() : std::vector<float>();
    const std::vector<float> ref = reference(g, x.to_vector<float>(), w.to_vector<float>(), c.bias ? bv.data() : nullptr);
    std::vector<float> ab(bv.size());
    for (size_t i = 0; i < bv.size(); ++i) ab[i] = std::fabs(bv[i]);
    const std::vector<float> S = reference(g, abs_of(x), abs_of(w), c.bias ? ab.data() : nullptr);
    const double u = std::ldexp(1.0, -24), K = double(g.Cin * g.KH * g.KW) + 1;  // + 1: the bias
    const double bound = 2 * K * u / (1 - K * u);
    const std::vector<float> yv = y.to_vector<float>();
    size_t differ = 0;
    for (size_t i = 0; i < yv.size(); ++i) {
      INFO("element " << i << ": oneDNN " << yv[i] << ", reference " << ref[i] << ", S " << S[i]);
      REQUIRE(std::fabs(double(yv[i]) - ref[i]) <= bound * S[i] * (1 + 1e-6) + 1e-30);
      differ += yv[i] != ref[i];
    }
    // The same primitive again (from the context's cache) gives the same bits.
    REQUIRE(conv2d_forward(ctx, x, w, b, c.pad, c.stride).to_vector<float>() == yv);
    // Fused ReLU = ReLU of the unfused result, exactly.
    std::vector<float> relu = yv;
    for (float& e : relu) e = e > 0.f ? e : 0.f;
    REQUIRE(conv2d_forward(ctx, x, w, b, c.pad, c.stride, /*relu=*/true).to_vector<float>() == relu);
    UNSCOPED_INFO("elements not bit-equal to the reference: " << differ << " of " << yv.size());
  }
}

TEST_CASE("conv2d oneDNN: a fresh context gives the same bits as a warm one", "[kernels][conv2d][onednn]") {
  const Tensor x = random_tensor({1, 32, 15, 26}, 7), w = random_tensor({48, 32, 3, 3}, 8), b = random_tensor({48}, 9);
  Context a, c;
  const std::vector<float> ya = conv2d_forward(a, x, w, b, 1, 1).to_vector<float>();
  conv2d_forward(c, random_tensor({1, 32, 15, 26}, 10), w, b, 1, 1);  // warm c on other data first
  REQUIRE(conv2d_forward(c, x, w, b, 1, 1).to_vector<float>() == ya);
  REQUIRE(onednn_description().rfind("oneDNN ", 0) == 0);
}

TEST_CASE("conv2d oneDNN: an image's result does not depend on its batch", "[kernels][conv2d][onednn]") {
  // detect_batch must give detect()'s bits for same-size images.
  Context ctx;
  const Tensor x = random_tensor({3, 24, 13, 21}, 11), w = random_tensor({40, 24, 3, 3}, 12),
               b = random_tensor({40}, 13);
  const std::vector<float> all = conv2d_forward(ctx, x, w, b, 1, 1).to_vector<float>();
  const size_t per = all.size() / 3;
  for (int64_t n = 0; n < 3; ++n) {
    INFO("image " << n);
    const std::vector<float> one = conv2d_forward(ctx, x.slice(n, n + 1), w, b, 1, 1).to_vector<float>();
    REQUIRE(std::vector<float>(all.begin() + n * per, all.begin() + (n + 1) * per) == one);
  }
}
