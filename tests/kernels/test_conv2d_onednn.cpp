// conv2d on the CPU: the oneDNN passes (what conv2d_forward / _backward_data /
// _backward_weight run on a CPU context) against the im2col + OpenBLAS reference
// (conv2d_*_cpu), on random seeded odd shapes.
//
// Tolerance (tests/precision_bounds.h): both sides are FP32 sums of the same K terms in
// different orders, so they are within 2 gamma(K) S of each other, S the same sum of the
// terms' absolute values (the reference on the absolute values). K per output element:
// forward Cin*KH*KW + 1 (the bias), backward-data at most Cout*KH*KW (the taps that reach
// an input pixel), backward-weight N*Ho*Wo + 1 (the gradient it accumulates into).
#include <catch2/catch.hpp>

#include <string>

#include "kernels/conv2d.h"
#include "kernels/conv2d_onednn.h"
#include "tests/precision_bounds.h"
#include "tests/test_util.h"

using namespace frcnn;
using namespace frcnn::test;

namespace {

struct Case {
  Shape x, w;
  int64_t pad, stride;
  bool bias;
};

const Case cases[] = {
    {{1, 3, 17, 23}, {5, 3, 3, 3}, 1, 1, true},      // odd channels and sizes
    {{2, 13, 9, 14}, {7, 13, 3, 3}, 1, 2, true},     // N = 2, stride 2
    {{2, 19, 8, 11}, {18, 19, 1, 1}, 0, 1, true},    // 1x1 (the RPN heads)
    {{1, 64, 20, 31}, {64, 64, 3, 3}, 1, 1, false},  // VGG-like, no bias
    {{1, 5, 6, 7}, {3, 5, 3, 3}, 0, 3, true},        // stride that does not divide the span
};

// The reference forward (im2col + OpenBLAS) of x and w (+ b when defined): (N, Cout, Ho, Wo).
Tensor reference(const Conv2dGeom& g, const Tensor& x, const Tensor& w, const Tensor& b) {
  Tensor y = Tensor::empty({g.N, g.Cout, g.Ho, g.Wo});
  conv2d_forward_cpu(g, x.data<float>(), w.data<float>(), b.defined() ? b.data<float>() : nullptr, y.data<float>());
  return y;
}

// The reference backward-data of gy and w: (N, Cin, H, W).
Tensor reference_data(const Conv2dGeom& g, const Tensor& gy, const Tensor& w) {
  Tensor gx = Tensor::empty({g.N, g.Cin, g.H, g.W});
  conv2d_backward_data_cpu(g, gy.data<float>(), w.data<float>(), gx.data<float>());
  return gx;
}

// The reference backward-weight of x and gy accumulated into a copy of gw0: (Cout, Cin, KH, KW).
Tensor reference_weight(const Conv2dGeom& g, const Tensor& x, const Tensor& gy, const Tensor& gw0) {
  Tensor gw = gw0.clone();
  conv2d_backward_weight_cpu(g, x.data<float>(), gy.data<float>(), gw.data<float>(), nullptr);
  return gw;
}

}  // namespace

TEST_CASE("conv2d oneDNN: the CPU forward matches the im2col reference within the FP32 sum bound",
          "[kernels][conv2d][onednn]") {
  Context ctx;
  uint32_t seed = 40;
  for (const Case& c : cases) {
    const Conv2dGeom g = conv2d_geom(c.x, c.w, c.pad, c.stride);
    INFO("x " << shape_str(c.x) << ", w " << shape_str(c.w) << ", pad " << c.pad << ", stride " << c.stride);
    const Tensor x = random_tensor(c.x, seed += 3), w = random_tensor(c.w, seed + 1),
                 b = c.bias ? random_tensor({c.w[0]}, seed + 2) : Tensor();
    const Tensor y = conv2d_forward(ctx, x, w, b, c.pad, c.stride);
    REQUIRE(y.shape() == Shape{g.N, g.Cout, g.Ho, g.Wo});
    const Tensor ref = reference(g, x, w, b);
    const Tensor S = reference(g, abs_of(x), abs_of(w), c.bias ? abs_of(b) : Tensor());
    require_within(y, ref, S, 2 * gamma(g.Cin * g.KH * g.KW + 1), "oneDNN vs im2col");
    const std::vector<float> yv = y.to_vector<float>(), rv = ref.to_vector<float>();
    size_t differ = 0;
    for (size_t i = 0; i < yv.size(); ++i) differ += yv[i] != rv[i];
    // The same primitive again (from the context's cache) gives the same bits.
    REQUIRE(conv2d_forward(ctx, x, w, b, c.pad, c.stride).to_vector<float>() == yv);
    // Fused ReLU = ReLU of the unfused result, exactly.
    std::vector<float> relu = yv;
    for (float& e : relu) e = e > 0.f ? e : 0.f;
    REQUIRE(conv2d_forward(ctx, x, w, b, c.pad, c.stride, /*relu=*/true).to_vector<float>() == relu);
    UNSCOPED_INFO("elements not bit-equal to the reference: " << differ << " of " << yv.size());
  }
}

TEST_CASE("conv2d oneDNN: the CPU backward passes match the im2col reference within the FP32 sum bound",
          "[kernels][conv2d][onednn]") {
  Context ctx;
  uint32_t seed = 70;
  for (const Case& c : cases) {
    const Conv2dGeom g = conv2d_geom(c.x, c.w, c.pad, c.stride);
    INFO("x " << shape_str(c.x) << ", w " << shape_str(c.w) << ", pad " << c.pad << ", stride " << c.stride);
    const Tensor x = random_tensor(c.x, seed += 4), w = random_tensor(c.w, seed + 1),
                 gy = random_tensor({g.N, g.Cout, g.Ho, g.Wo}, seed + 2), gw0 = random_tensor(c.w, seed + 3);

    const Tensor gx = conv2d_backward_data(ctx, gy, w, c.x, c.pad, c.stride);
    REQUIRE(gx.shape() == c.x);
    require_within(gx, reference_data(g, gy, w), reference_data(g, abs_of(gy), abs_of(w)),
                   2 * gamma(g.Cout * g.KH * g.KW), "backward-data, oneDNN vs col2im");
    REQUIRE(conv2d_backward_data(ctx, gy, w, c.x, c.pad, c.stride).to_vector<float>() == gx.to_vector<float>());

    // Accumulates into a gradient that is not zero (as the layer's across a minibatch).
    Tensor gw = gw0.clone(), gb = c.bias ? Tensor::zeros({g.Cout}) : Tensor();
    conv2d_backward_weight(ctx, x, gy, gw, gb, c.pad, c.stride);
    require_within(gw, reference_weight(g, x, gy, gw0), reference_weight(g, abs_of(x), abs_of(gy), abs_of(gw0)),
                   2 * gamma(g.N * g.Ho * g.Wo + 1), "backward-weight, oneDNN vs im2col");
    Tensor again = gw0.clone(), no_bias;
    conv2d_backward_weight(ctx, x, gy, again, no_bias, c.pad, c.stride);
    REQUIRE(again.to_vector<float>() == gw.to_vector<float>());
    if (c.bias) {  // our own FP32 sum, bit for bit the reference's
      std::vector<float> want(size_t(g.Cout), 0.f);
      conv2d_backward_weight_bias_cpu(g, gy.data<float>(), want.data());
      REQUIRE(gb.to_vector<float>() == want);
    }
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

TEST_CASE("conv2d oneDNN: results stay the same across more geometries than the context keeps",
          "[kernels][conv2d][onednn]") {
  // 600 sizes of a 3x3 conv (the context keeps 512 geometries, then starts again): the first
  // size's forward and backward give their first bits after the others evicted them.
  Context ctx;
  const Tensor w = random_tensor({2, 1, 3, 3}, 14), b = random_tensor({2}, 15);
  const Tensor x = random_tensor({1, 1, 5, 4}, 16), gy = random_tensor({1, 2, 5, 4}, 17);
  const std::vector<float> y0 = conv2d_forward(ctx, x, w, b, 1, 1).to_vector<float>();
  const std::vector<float> gx0 = conv2d_backward_data(ctx, gy, w, x.shape(), 1, 1).to_vector<float>();
  for (int64_t h = 6; h < 606; ++h) {
    const Tensor xi = random_tensor({1, 1, h, 4}, uint32_t(h));
    conv2d_forward(ctx, xi, w, b, 1, 1);
    conv2d_backward_data(ctx, random_tensor({1, 2, h, 4}, uint32_t(h + 1000)), w, xi.shape(), 1, 1);
  }
  REQUIRE(conv2d_forward(ctx, x, w, b, 1, 1).to_vector<float>() == y0);
  REQUIRE(conv2d_backward_data(ctx, gy, w, x.shape(), 1, 1).to_vector<float>() == gx0);
}
