// The Linear layer in tf32 and bf16 (layers/linear.h): the CPU path against FP32 within the
// formats' bound, and cuBLAS (TF32 math mode, GemmEx on BF16 operands; on the emulated device
// its stand-in rounds the same way) against the CPU path of the same precision. Bounds:
// tests/precision_bounds.h.
#include <catch2/catch.hpp>

#include "engine/rng.h"
#include "layers/init.h"
#include "kernels/tensor_formats.h"
#include "layers/linear.h"
#include "tests/gpu.h"
#include "tests/precision_bounds.h"
#include "tests/test_util.h"

using namespace frcnn;
using namespace frcnn::test;

namespace {

constexpr int64_t kN = 5, kIn = 37, kOut = 11;

struct LinearRun {
  Tensor y, gx, gw, gb;
};

// forward + backward of one Linear (seeded weights) in precision m on ctx's device.
LinearRun run_linear(Context& ctx, MathMode m, const Tensor& x, const Tensor& gy) {
  ctx.set_math_mode(m);
  Linear fc("fc", kIn, kOut);
  fc.to(ctx);
  init_gaussian(ctx, fc.weight().value, 0.5f, RngKey{41, 1});
  init_gaussian(ctx, fc.bias().value, 0.5f, RngKey{41, 2});
  fc.set_training(true);
  auto dev = [&](const Tensor& t) { return t.to(ctx.device(), ctx.stream()); };
  LinearRun r;
  r.y = fc.forward(ctx, dev(x));
  r.gx = fc.backward(ctx, dev(gy));
  ctx.synchronize();
  r.y = r.y.to(Device::cpu()), r.gx = r.gx.to(Device::cpu());
  r.gw = fc.weight().grad.to(Device::cpu()), r.gb = fc.bias().grad.to(Device::cpu());
  ctx.set_math_mode(MathMode::Fp32);
  return r;
}

// S of the three products, from |rounded operands| (FP32 CPU, plain loops).
struct LinearBounds {
  Tensor y, gx, gw;
};
LinearBounds linear_bounds(MathMode m, const Tensor& x, const Tensor& gy) {
  Context cpu;
  Linear fc("fc", kIn, kOut);
  init_gaussian(cpu, fc.weight().value, 0.5f, RngKey{41, 1});
  auto rounded_abs = [&](const Tensor& t) {
    std::vector<float> v = t.to_vector<float>();
    for (float& f : v) f = std::fabs(m == MathMode::Tf32 ? ptx::round_to_tf32(f) : ptx::round_to_bf16(f));
    return v;
  };
  const std::vector<float> ax = rounded_abs(x), aw = rounded_abs(fc.weight().value), ag = rounded_abs(gy);
  std::vector<float> sy(kN * kOut, 0.f), sgx(kN * kIn, 0.f), sgw(kOut * kIn, 0.f);
  for (int64_t n = 0; n < kN; ++n)
    for (int64_t o = 0; o < kOut; ++o)
      for (int64_t i = 0; i < kIn; ++i) {
        sy[n * kOut + o] += ax[n * kIn + i] * aw[o * kIn + i];   // y (N, out) = x W^T
        sgx[n * kIn + i] += ag[n * kOut + o] * aw[o * kIn + i];  // gx (N, in) = gy W
        sgw[o * kIn + i] += ag[n * kOut + o] * ax[n * kIn + i];  // gW (out, in) = gy^T x
      }
  return {Tensor::from_vector<float>({kN, kOut}, sy), Tensor::from_vector<float>({kN, kIn}, sgx),
          Tensor::from_vector<float>({kOut, kIn}, sgw)};
}

}  // namespace

TEST_CASE("linear precision: CPU tf32 / bf16 within the format's bound of fp32", "[layers][precision]") {
  Context cpu;
  const Tensor x = random_tensor({kN, kIn}, 3), gy = random_tensor({kN, kOut}, 4);
  const LinearRun ref = run_linear(cpu, MathMode::Fp32, x, gy);
  for (MathMode m : {MathMode::Tf32, MathMode::Bf16}) {
    INFO(math_mode_name(m));
    const LinearRun r = run_linear(cpu, m, x, gy);
    const LinearBounds B = linear_bounds(m, x, gy);
    require_within(r.y, ref.y, B.y, product_bound(m) + 2 * gamma(kIn) + 1e-6, "forward");
    require_within(r.gx, ref.gx, B.gx, product_bound(m) + 2 * gamma(kOut), "grad input");
    require_within(r.gw, ref.gw, B.gw, product_bound(m) + 2 * gamma(kN), "grad weight");
    REQUIRE(r.gb.to_vector<float>() == ref.gb.to_vector<float>());  // the bias is FP32
    REQUIRE(r.y.to_vector<float>() != ref.y.to_vector<float>());    // the precision was applied
  }
}

TEST_CASE("linear precision: cuBLAS tf32 / bf16 match the CPU path of the same precision", "[layers][precision][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context cpu, gpu(Device::cuda());
  const Tensor x = random_tensor({kN, kIn}, 5), gy = random_tensor({kN, kOut}, 6);
  for (MathMode m : {MathMode::Tf32, MathMode::Bf16}) {
    INFO(math_mode_name(m));
    const LinearRun want = run_linear(cpu, m, x, gy), got = run_linear(gpu, m, x, gy);
    const LinearBounds B = linear_bounds(m, x, gy);
#if FRCNN_CUDA_EMULATION
    const double c = 0;  // the stand-in rounds like our CPU path: only the summation order differs
#else
    const double c = m == MathMode::Tf32 ? 2 * product_bound(m) : 0;  // cuBLAS's TF32 rounding is undocumented
#endif
    require_within(got.y, want.y, B.y, c + 4 * gamma(kIn) + 1e-6, "forward");
    require_within(got.gx, want.gx, B.gx, c + 4 * gamma(kOut) + 1e-6, "grad input");
    require_within(got.gw, want.gw, B.gw, c + 4 * gamma(kN) + 1e-6, "grad weight");
    require_close(got.gb, want.gb, 1e-5, 1e-5, "grad bias (fp32)");
  }
}

namespace {

// The weight's reduced-precision copy (layers/param_lowp.h) on ctx's device, in every
// precision that makes one: reused while the weight's version holds (a write without
// touch() is not seen: the contract), remade in place after touch(), after load_params,
// and for another precision; each result equals a fresh layer's with the same weights.
void check_weight_copy(Context& ctx) {
  auto dev = [&](const Tensor& t) { return t.to(ctx.device(), ctx.stream()); };
  const Tensor x = dev(random_tensor({kN, kIn}, 7));
  auto fresh_forward = [&](const Tensor& w, const Tensor& b) {
    Linear g("fc", kIn, kOut);
    g.to(ctx);
    g.weight().value.copy_from(w, ctx.stream());
    g.bias().value.copy_from(b, ctx.stream());
    g.set_training(false);
    return g.forward(ctx, x).to(Device::cpu(), ctx.stream()).to_vector<float>();
  };
  const std::vector<MathMode> modes =
      ctx.is_cuda() ? std::vector<MathMode>{MathMode::Bf16} : std::vector<MathMode>{MathMode::Tf32, MathMode::Bf16};
  for (MathMode m : modes) {
    INFO(math_mode_name(m));
    ctx.set_math_mode(m);
    Linear fc("fc", kIn, kOut);
    fc.to(ctx);
    init_gaussian(ctx, fc.weight().value, 0.5f, RngKey{43, 1});
    init_gaussian(ctx, fc.bias().value, 0.5f, RngKey{43, 2});
    fc.weight().touch();
    fc.set_training(false);
    Param& w = fc.weight();
    auto forward = [&] { return fc.forward(ctx, x).to(Device::cpu(), ctx.stream()).to_vector<float>(); };
    const std::vector<float> y0 = forward();
    REQUIRE(y0 == fresh_forward(w.value, fc.bias().value));
    REQUIRE(w.lowp.value.dtype() == (ctx.is_cuda() ? DType::BF16 : DType::F32));
    REQUIRE(w.lowp.version == w.version);
    const void* copy_at = w.lowp.value.raw_data();
    // Written without touch(): the copy is reused, so y is unchanged.
    const Tensor w0 = w.value.clone(ctx.stream());
    init_gaussian(ctx, w.value, 0.5f, RngKey{43, 3});
    REQUIRE(forward() == y0);
    // touch(): remade in place, y is the new weight's.
    w.touch();
    const std::vector<float> y1 = forward();
    REQUIRE(y1 != y0);
    REQUIRE(y1 == fresh_forward(w.value, fc.bias().value));
    REQUIRE(w.lowp.value.raw_data() == copy_at);
    // load_params touches what it loads.
    const auto dir = temp_dir("lowp");
    Linear saved("fc", kIn, kOut);
    saved.weight().value.copy_from(w0);
    saved.bias().value.copy_from(fc.bias().value.to(Device::cpu(), ctx.stream()));
    save_params((dir / "fc.safetensors").string(), saved.params());
    load_params(ctx, (dir / "fc.safetensors").string(), fc.params());
    REQUIRE(forward() == y0);
    // fp32: no copy is read; back in m the copy (made in m) is still current.
    ctx.set_math_mode(MathMode::Fp32);
    REQUIRE(forward() == fresh_forward(w.value, fc.bias().value));
    ctx.set_math_mode(m);
    REQUIRE(forward() == y0);
  }
  // Another precision remakes the copy (CPU: tf32 then bf16 roundings of one weight).
  if (!ctx.is_cuda()) {
    Linear fc("fc", kIn, kOut);
    init_gaussian(ctx, fc.weight().value, 0.5f, RngKey{43, 4});
    fc.set_training(false);
    ctx.set_math_mode(MathMode::Tf32);
    const std::vector<float> yt = fc.forward(ctx, x).to_vector<float>();
    ctx.set_math_mode(MathMode::Bf16);
    const std::vector<float> yb = fc.forward(ctx, x).to_vector<float>();
    REQUIRE(yb != yt);
    REQUIRE(yb == fresh_forward(fc.weight().value, fc.bias().value));
  }
  ctx.set_math_mode(MathMode::Fp32);
}

}  // namespace

TEST_CASE("linear precision: the weight's rounded copy is made once per change of the weight, on the CPU",
          "[layers][precision]") {
  Context cpu;
  check_weight_copy(cpu);
}

TEST_CASE("linear precision: the weight's BF16 copy is made once per change of the weight, on CUDA",
          "[layers][precision][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context gpu(Device::cuda());
  check_weight_copy(gpu);
}
