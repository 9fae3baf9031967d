// kernels/precision.h: the element-wise format conversions, CPU against the formats'
// definitions and CUDA against the CPU bit for bit ([gpu]), on values that exercise the
// rounding (ties, NaN, inf, the largest finite).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/maxpool2d.h"
#include "kernels/precision.h"
#include "kernels/roi_pool.h"
#include "kernels/tensor_formats.h"
#include "tests/gpu.h"
#include "tests/kernels/kernel_test_util.h"

using namespace frcnn;
using namespace frcnn::test;

namespace {

// Random values plus the edge cases of both roundings.
Tensor edge_values() {
  std::vector<float> v = random_tensor({1000}, 17, -1000.f, 1000.f).to_vector<float>();
  const float inf = std::numeric_limits<float>::infinity();
  for (uint32_t bits : {0x3F801000u, 0x3F803000u, 0x3F808000u, 0x3F818000u, 0xBF801000u, 0x7F7FFFFFu, 0x00000001u})
    v.push_back(ptx::bits_float(bits));  // TF32 ties (both parities), BF16 ties, max finite, a denormal
  v.insert(v.end(), {0.f, -0.f, inf, -inf, std::numeric_limits<float>::quiet_NaN()});
  return Tensor::from_vector<float>({int64_t(v.size())}, v);
}

std::vector<uint32_t> bits_of(const Tensor& t) {
  std::vector<float> v = t.to_vector<float>();
  std::vector<uint32_t> b(v.size());
  std::memcpy(b.data(), v.data(), v.size() * 4);
  return b;
}

std::vector<uint16_t> bf16_bits(const Tensor& t) {
  const Tensor c = t.to(Device::cpu());
  std::vector<uint16_t> b(size_t(t.numel()));
  std::memcpy(b.data(), c.raw_data(), b.size() * 2);
  return b;
}

}  // namespace

TEST_CASE("precision ops: CPU rounding is the formats' rounding, and BF16 storage round-trips", "[kernels][precision]") {
  Context cpu;
  const Tensor x = edge_values();
  const std::vector<float> xv = x.to_vector<float>();
  const std::vector<float> t = round_to_precision(cpu, x, MathMode::Tf32).to_vector<float>();
  const std::vector<float> b = round_to_precision(cpu, x, MathMode::Bf16).to_vector<float>();
  REQUIRE(bits_of(round_to_precision(cpu, x, MathMode::Fp32)) == bits_of(x));
  for (size_t i = 0; i < xv.size(); ++i) {
    INFO("element " << i << " = " << xv[i]);
    if (std::isnan(xv[i])) {
      REQUIRE(std::isnan(t[i]));
      REQUIRE(std::isnan(b[i]));
      continue;
    }
    REQUIRE((ptx::float_bits(t[i]) & 0x1FFFu) == 0);    // 10 mantissa bits left
    REQUIRE((ptx::float_bits(b[i]) & 0xFFFFu) == 0);    // 7 mantissa bits left
    // The relative bounds hold for normal numbers (a denormal has fewer significant bits).
    if (std::isnormal(xv[i]) && std::isfinite(t[i])) REQUIRE(std::fabs(t[i] - xv[i]) <= std::ldexp(std::fabs(xv[i]), -11));
    if (std::isnormal(xv[i]) && std::isfinite(b[i])) REQUIRE(std::fabs(b[i] - xv[i]) <= std::ldexp(std::fabs(xv[i]), -8));
  }
  const Tensor h = to_bf16(cpu, x);
  REQUIRE(h.dtype() == DType::BF16);
  REQUIRE(bits_of(bf16_to_f32(cpu, h)) == bits_of(round_to_precision(cpu, x, MathMode::Bf16)));
  REQUIRE_THROWS_WITH(bf16_to_f32(cpu, x), Catch::Contains("bf16_to_f32"));
}

TEST_CASE("precision ops: CUDA conversions equal the CPU bit for bit", "[kernels][precision][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context cpu, gpu(Device::cuda());
  const Tensor x = edge_values(), xd = x.to(gpu.device(), gpu.stream());
  for (MathMode m : {MathMode::Fp32, MathMode::Tf32, MathMode::Bf16}) {
    INFO(math_mode_name(m));
    REQUIRE(bits_of(host(round_to_precision(gpu, xd, m))) == bits_of(round_to_precision(cpu, x, m)));
  }
  const Tensor hd = to_bf16(gpu, xd);
  REQUIRE(bf16_bits(host(hd)) == bf16_bits(to_bf16(cpu, x)));
  REQUIRE(bits_of(host(bf16_to_f32(gpu, hd))) == bits_of(bf16_to_f32(cpu, to_bf16(cpu, x))));
}

namespace {

// BF16 activations through the pooling ops (kernels/maxpool2d.h, roi_pool.h): max-pooling a
// BF16 map gives the BF16 of the F32 pool of its values, with the same argmax, and RoI
// pooling reads BF16 features as their F32 values (output F32); on ctx's device.
void check_pooling_bf16(Context& ctx) {
  const Tensor x = random_tensor({2, 3, 9, 11}, 31, -4.f, 4.f).to(ctx.device(), ctx.stream());
  const Tensor x16 = to_bf16(ctx, x), xw = bf16_to_f32(ctx, x16);
  for (int k : {2, 3}) {
    INFO("kernel " << k);
    const MaxPool2dResult want = maxpool2d_forward(ctx, xw, k, 2), got = maxpool2d_forward(ctx, x16, k, 2);
    REQUIRE(got.y.dtype() == DType::BF16);
    REQUIRE(bf16_bits(got.y) == bf16_bits(to_bf16(ctx, want.y)));
    REQUIRE(got.argmax.to(Device::cpu()).to_vector<int32_t>() == want.argmax.to(Device::cpu()).to_vector<int32_t>());
  }
  const Tensor rois =
      Tensor::from_vector<float>({3, 5}, {0, 0, 0, 40, 30, 1, 8, 4, 100, 60, 1, -10, -6, 20, 12}).to(ctx.device(),
                                                                                                    ctx.stream());
  const RoiPoolResult want = roi_pool_forward(ctx, xw, rois, 3, 3, 1.f / 8), got = roi_pool_forward(ctx, x16, rois, 3, 3, 1.f / 8);
  REQUIRE(got.output.dtype() == DType::F32);
  REQUIRE(bits_of(got.output.to(Device::cpu())) == bits_of(want.output.to(Device::cpu())));
  REQUIRE(got.argmax.to(Device::cpu()).to_vector<int32_t>() == want.argmax.to(Device::cpu()).to_vector<int32_t>());
}

}  // namespace

TEST_CASE("precision ops: max-pool and RoI pool take BF16 activations, on the CPU", "[kernels][precision]") {
  Context cpu;
  check_pooling_bf16(cpu);
}

TEST_CASE("precision ops: max-pool and RoI pool take BF16 activations, on CUDA", "[kernels][precision][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context gpu(Device::cuda());
  check_pooling_bf16(gpu);
}
