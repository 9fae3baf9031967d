// conv2d in tf32 and bf16: the CPU path against the FP32 reference within the formats'
// error bound, and our tensor-core CUDA passes (kernels/conv2d_mma_cuda.cu, on the
// emulated device in CI) against the CPU path of the same precision, on odd shapes:
// channels that are not multiples of 8 or 16, 1x1, 3x3, a 5x3 kernel, stride 2, N = 2,
// shapes large enough for several tiles, several k slices and a split reduction, and both
// tile heights (64 rows where M <= 64, else 128) with and without 16-byte weight copies.
//
// The tolerances are derived in tests/precision_bounds.h: 2 gamma_K S between two FP32
// summation orders of the same rounded operands (4 gamma_K S on a real tensor core), and
// (2u + u^2) S + 2 gamma_K S between a tf32 / bf16 result and the FP32 one.
#include <catch2/catch.hpp>

#include <cmath>
#include <sstream>

#include "kernels/conv2d.h"
#include "kernels/precision.h"
#include "kernels/relu.h"
#include "tests/gpu.h"
#include "tests/kernels/kernel_test_util.h"
#include "tests/precision_bounds.h"
#include "tests/test_util.h"

using namespace frcnn;
using namespace frcnn::test;

namespace {

struct Case {
  Shape x, w;
  int64_t pad, stride;
};

// The shapes every pass is checked on (see the header).
const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {{2, 5, 7, 9}, {6, 5, 3, 3}, 1, 1},       // 3x3, odd channels, N = 2
      {{1, 19, 6, 11}, {21, 19, 1, 1}, 0, 1},   // 1x1
      {{2, 3, 11, 10}, {9, 3, 3, 3}, 1, 2},     // stride 2, conv1_1's 3 channels
      {{1, 6, 9, 8}, {4, 6, 5, 3}, 1, 1},       // run-time kernel size
      {{1, 128, 12, 12}, {136, 128, 3, 3}, 1, 1},  // 2 x 2 tiles, 72 k slices, split reduction
      {{1, 4, 9, 10}, {12, 4, 3, 3}, 1, 1},     // K % 4 == 0 on a 64-row tile: 16-byte weight copies
      {{1, 128, 5, 6}, {40, 128, 3, 3}, 1, 1},  // 64-row tile with a split reduction
  };
  return c;
}

std::string case_name(const Case& c) {
  std::ostringstream s;
  s << "x " << shape_str(c.x) << " w " << shape_str(c.w) << " pad " << c.pad << " stride " << c.stride;
  return s.str();
}

// The three passes of one case in one precision, on ctx's device, results on the CPU.
// gw starts at `gw0` (the weight gradient accumulates), gb at zero.
struct Passes {
  Tensor y, y_relu, gx, gw, gb;
};
Passes run_passes(Context& ctx, const Case& c, MathMode m, const Tensor& x, const Tensor& w, const Tensor& b,
                  const Tensor& gy, const Tensor& gw0) {
  ctx.set_math_mode(m);
  auto dev = [&](const Tensor& t) { return t.to(ctx.device(), ctx.stream()); };
  Passes p;
  p.y = host(conv2d_forward(ctx, dev(x), dev(w), dev(b), c.pad, c.stride));
  p.y_relu = host(conv2d_forward(ctx, dev(x), dev(w), dev(b), c.pad, c.stride, /*relu=*/true));
  p.gx = host(conv2d_backward_data(ctx, dev(gy), dev(w), c.x, c.pad, c.stride));
  // A copy: to() onto the tensor's own device shares the buffer, and the gradient accumulates.
  Tensor gw = dev(Tensor::from_vector<float>(gw0.shape(), gw0.to_vector<float>())), gb = dev(Tensor::zeros({c.w[0]}));
  conv2d_backward_weight(ctx, dev(x), dev(gy), gw, gb, c.pad, c.stride);
  p.gw = host(gw), p.gb = host(gb);
  ctx.set_math_mode(MathMode::Fp32);
  return p;
}

// S of each pass (the absolute-value convolutions, FP32, CPU) and each pass's K.
struct Bounds {
  Tensor y, gx, gw;
  int64_t Ky, Kgx, Kgw;
};
Bounds bounds(const Case& c, MathMode m, const Tensor& x, const Tensor& w, const Tensor& gy) {
  Context cpu;
  const Tensor ax = abs_of(round_to_precision(cpu, x, m)), aw = abs_of(round_to_precision(cpu, w, m)),
               agy = abs_of(round_to_precision(cpu, gy, m));
  const Conv2dGeom g = conv2d_geom(c.x, c.w, c.pad, c.stride);
  Bounds B;
  B.y = conv2d_forward(cpu, ax, aw, Tensor(), c.pad, c.stride);
  B.gx = conv2d_backward_data(cpu, agy, aw, c.x, c.pad, c.stride);
  B.gw = Tensor::zeros(c.w);
  Tensor none;
  conv2d_backward_weight(cpu, ax, agy, B.gw, none, c.pad, c.stride);
  B.Ky = g.Cin * g.KH * g.KW, B.Kgx = g.Cout * g.KH * g.KW, B.Kgw = g.N * g.Ho * g.Wo;
  return B;
}

struct Inputs {
  Tensor x, w, b, gy, gw0;
};
Inputs inputs(const Case& c, uint32_t seed) {
  const Conv2dGeom g = conv2d_geom(c.x, c.w, c.pad, c.stride);
  return {random_tensor(c.x, seed), random_tensor(c.w, seed + 1), random_tensor({c.w[0]}, seed + 2),
          random_tensor({g.N, g.Cout, g.Ho, g.Wo}, seed + 3), random_tensor(c.w, seed + 4)};
}

}  // namespace

TEST_CASE("conv2d precision: CPU tf32 / bf16 are within the format's bound of fp32, and not fp32", "[kernels][conv2d][precision]") {
  Context cpu;
  uint32_t seed = 100;
  for (const Case& c : cases()) {
    const Inputs in = inputs(c, seed += 10);
    const Passes ref = run_passes(cpu, c, MathMode::Fp32, in.x, in.w, in.b, in.gy, in.gw0);
    for (MathMode m : {MathMode::Tf32, MathMode::Bf16}) {
      INFO(case_name(c) << ", " << math_mode_name(m));
      const Passes p = run_passes(cpu, c, m, in.x, in.w, in.b, in.gy, in.gw0);
      const Bounds B = bounds(c, m, in.x, in.w, in.gy);
      const double fmt = product_bound(m);
      require_within(p.y, ref.y, B.y, fmt + 2 * gamma(B.Ky), "forward");
      require_within(p.gx, ref.gx, B.gx, fmt + 2 * gamma(B.Kgx), "backward-data");
      // gw = gw0 + the accumulated product: the bound of the product, plus one rounding of the sum.
      require_within(p.gw, ref.gw, B.gw, (fmt + 2 * gamma(B.Kgw)) * (1 + 1e-6) + 1e-7, "backward-weight");
      // The bias gradient is FP32 in every precision.
      REQUIRE(p.gb.to_vector<float>() == ref.gb.to_vector<float>());
      // The precision was applied: rounded operands do not give the FP32 result.
      REQUIRE(p.y.to_vector<float>() != ref.y.to_vector<float>());
      // Fused ReLU = ReLU of the unfused result, exactly.
      REQUIRE(p.y_relu.to_vector<float>() == relu_forward(cpu, p.y).to_vector<float>());
    }
  }
}

TEST_CASE("conv2d precision: CUDA tensor-core passes match the CPU path of the same precision", "[kernels][conv2d][precision][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context cpu, gpu(Device::cuda());
#if FRCNN_CUDA_EMULATION
  const double order = 2.0;  // two FP32 summation orders (the emulated mma adds in k order)
#else
  const double order = 4.0;  // tensor cores truncate inside an mma (see the header)
#endif
  uint32_t seed = 500;
  for (const Case& c : cases()) {
    const Inputs in = inputs(c, seed += 10);
    for (MathMode m : {MathMode::Tf32, MathMode::Bf16}) {
      INFO(case_name(c) << ", " << math_mode_name(m));
      const Passes want = run_passes(cpu, c, m, in.x, in.w, in.b, in.gy, in.gw0);
      const Passes got = run_passes(gpu, c, m, in.x, in.w, in.b, in.gy, in.gw0);
      const Bounds B = bounds(c, m, in.x, in.w, in.gy);
      require_within(got.y, want.y, B.y, order * gamma(B.Ky) + 1e-7, "forward");
      require_within(got.gx, want.gx, B.gx, order * gamma(B.Kgx) + 1e-7, "backward-data");
      require_within(got.gw, want.gw, B.gw, order * gamma(B.Kgw) + 1e-6, "backward-weight");
      require_close(got.gb, want.gb, 1e-5, 1e-5, "bias gradient (fp32)");
      // The fused ReLU epilogue (also through the split reduction of the last case).
      REQUIRE(got.y_relu.to_vector<float>() == relu_forward(cpu, got.y).to_vector<float>());
    }
  }
}

namespace {

// A BF16 or F32 tensor's values on the host, as floats (BF16 widens exactly).
std::vector<float> values(Context& ctx, const Tensor& t) {
  return host(t.dtype() == DType::BF16 ? bf16_to_f32(ctx, t) : t).to_vector<float>();
}

// BF16 activations (kernels/conv2d.h): a BF16 x is read as its F32 values and a BF16 y is
// the F32 result rounded once, so in every precision each combination equals the F32 path
// on the widened input, rounded where asked, bit for bit (the cases cover both tile
// heights, split and unsplit reductions; with and without ReLU; the fused 2x2 pool).
void check_bf16_activations(Context& ctx) {
  uint32_t seed = 700;
  for (const Case& c : cases())
    for (MathMode m : {MathMode::Fp32, MathMode::Tf32, MathMode::Bf16}) {
      INFO(case_name(c) << ", " << math_mode_name(m));
      ctx.set_math_mode(m);
      const Inputs in = inputs(c, seed += 10);
      auto dev = [&](const Tensor& t) { return t.to(ctx.device(), ctx.stream()); };
      const Tensor w = dev(in.w), b = dev(in.b);
      const Tensor x16 = to_bf16(ctx, dev(in.x)), xw = bf16_to_f32(ctx, x16);
      for (bool relu : {false, true}) {
        INFO("relu " << relu);
        const Tensor ref = conv2d_forward(ctx, xw, w, b, c.pad, c.stride, relu);
        const Tensor got_in16 = conv2d_forward(ctx, x16, w, b, c.pad, c.stride, relu);
        REQUIRE(got_in16.dtype() == DType::F32);
        REQUIRE(values(ctx, got_in16) == values(ctx, ref));
        const Tensor ref16 = to_bf16(ctx, ref);
        for (const Tensor* x : {&xw, &x16}) {
          const Tensor got = conv2d_forward(ctx, *x, w, b, c.pad, c.stride, relu, DType::BF16);
          REQUIRE(got.dtype() == DType::BF16);
          REQUIRE(got.shape() == ref.shape());
          REQUIRE(values(ctx, got) == values(ctx, ref16));
        }
      }
      const Tensor pooled = conv2d_relu_maxpool_forward(ctx, xw, w, b, c.pad, c.stride, 2);
      const Tensor pooled16 = conv2d_relu_maxpool_forward(ctx, x16, w, b, c.pad, c.stride, 2, DType::BF16);
      REQUIRE(pooled16.dtype() == DType::BF16);
      REQUIRE(values(ctx, pooled16) == values(ctx, to_bf16(ctx, pooled)));
    }
  ctx.set_math_mode(MathMode::Fp32);
  // Other types are refused, naming the argument.
  const Tensor x = random_tensor({1, 2, 4, 4}, 1).to(ctx.device(), ctx.stream()),
               w = random_tensor({3, 2, 3, 3}, 2).to(ctx.device(), ctx.stream());
  REQUIRE_THROWS_WITH(conv2d_forward(ctx, x, w, Tensor(), 1, 1, false, DType::I32),
                      Catch::Contains("conv2d_forward: the output type is I32"));
  REQUIRE_THROWS_WITH(conv2d_relu_maxpool_forward(ctx, x, w, Tensor(), 1, 1, 2, DType::F16),
                      Catch::Contains("the output type is F16"));
  const Tensor xi = Tensor::zeros({1, 2, 4, 4}, DType::I32, ctx.device(), ctx.stream());
  REQUIRE_THROWS_WITH(conv2d_forward(ctx, xi, w, Tensor(), 1, 1), Catch::Contains("conv2d_forward: x is I32"));
}

}  // namespace

TEST_CASE("conv2d bf16 activations: BF16 in / out equal the F32 path rounded, on the CPU", "[kernels][conv2d][precision]") {
  Context cpu;
  check_bf16_activations(cpu);
}

TEST_CASE("conv2d bf16 activations: BF16 in / out equal the F32 path rounded, on CUDA (SIMT and tensor cores)",
          "[kernels][conv2d][precision][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context gpu(Device::cuda());
  check_bf16_activations(gpu);
}
