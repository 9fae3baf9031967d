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
