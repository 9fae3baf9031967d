// The tensor-core building block (kernels/mma_tile.h, kernels/ptx.cuh): the number formats
// bit for bit, and one mma tile per format, CUDA against the CPU reference. On the emulated
// device the twins add in the reference's order, so the tiles match exactly; a GPU's tensor
// core sums the K products in its own order, within the FP32 bound below.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "kernels/mma_tile.h"
#include "kernels/tensor_formats.h"
#include "tests/gpu.h"
#include "tests/test_util.h"

using namespace frcnn;

TEST_CASE("tensor formats: TF32 rounds to nearest with ties away, BF16 to nearest even", "[mma]") {
  using namespace ptx;
  // 1 + 2^-11 is exactly half a TF32 ulp above 1: away from zero gives 1 + 2^-10.
  REQUIRE(round_to_tf32(1.f + std::ldexp(1.f, -11)) == 1.f + std::ldexp(1.f, -10));
  REQUIRE(round_to_tf32(-(1.f + std::ldexp(1.f, -11))) == -(1.f + std::ldexp(1.f, -10)));
  REQUIRE(round_to_tf32(1.f + std::ldexp(1.f, -12)) == 1.f);
  REQUIRE((float_bits(round_to_tf32(3.14159f)) & 0x1FFFu) == 0);
  // BF16: 1 + 2^-8 is half an ulp above 1 (even: stays 1); 1 + 3 2^-8 goes up to 1 + 2^-6.
  REQUIRE(round_to_bf16(1.f + std::ldexp(1.f, -8)) == 1.f);
  REQUIRE(round_to_bf16(1.f + 3 * std::ldexp(1.f, -8)) == 1.f + std::ldexp(1.f, -6));
  REQUIRE(bf16_round_bits(float_bits(1.f)) == 0x3F80);
  REQUIRE(std::isinf(round_to_bf16(std::numeric_limits<float>::max())));
  REQUIRE(std::isnan(round_to_bf16(std::numeric_limits<float>::quiet_NaN())));
  REQUIRE(std::isnan(round_to_tf32(std::numeric_limits<float>::quiet_NaN())));
  REQUIRE(std::isinf(round_to_tf32(std::numeric_limits<float>::infinity())));
}

TEST_CASE("mma tile: the CPU reference is a matrix product of the rounded operands", "[mma]") {
  Context cpu;
  // Values exact in BF16 and TF32 (small integers / 4): the product is exact too.
  std::vector<float> a(16 * 16), b(16 * 8), c(16 * 8);
  for (size_t i = 0; i < a.size(); ++i) a[i] = float(int(i * 7 % 11) - 5) / 4;
  for (size_t i = 0; i < b.size(); ++i) b[i] = float(int(i * 5 % 9) - 4) / 4;
  for (size_t i = 0; i < c.size(); ++i) c[i] = float(i % 3);
  Tensor d = mma_tile(cpu, MmaFormat::Bf16, Tensor::from_vector<float>({16, 16}, a), Tensor::from_vector<float>({16, 8}, b),
                      Tensor::from_vector<float>({16, 8}, c));
  const auto dv = d.to_vector<float>();
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) {
      double want = c[m * 8 + n];
      for (int k = 0; k < 16; ++k) want += double(a[m * 16 + k]) * b[k * 8 + n];
      REQUIRE(dv[m * 8 + n] == float(want));
    }
  REQUIRE_THROWS_WITH(mma_tile(cpu, MmaFormat::Tf32, Tensor::zeros({16, 16}), Tensor::zeros({8, 8}), Tensor::zeros({16, 8})),
                      Catch::Contains("mma_tile") && Catch::Contains("(16, 8)"));
}

TEST_CASE("mma tile: CUDA tf32 and bf16 tiles match the CPU reference", "[mma][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context cpu, gpu(Device::cuda());
  for (MmaFormat f : {MmaFormat::Tf32, MmaFormat::Bf16}) {
    const int64_t K = f == MmaFormat::Tf32 ? 8 : 16;
    for (uint32_t seed = 1; seed <= 3; ++seed) {
      INFO("format " << (f == MmaFormat::Tf32 ? "tf32" : "bf16") << ", seed " << seed);
      const Tensor a = test::random_tensor({16, K}, seed), b = test::random_tensor({K, 8}, seed + 10),
                   c = test::random_tensor({16, 8}, seed + 20);
      const Tensor want = mma_tile(cpu, f, a, b, c);
      const Tensor got = mma_tile(gpu, f, a.to(gpu.device()), b.to(gpu.device()), c.to(gpu.device())).to(Device::cpu());
#if FRCNN_CUDA_EMULATION
      REQUIRE(got.to_vector<float>() == want.to_vector<float>());  // the twins add in the reference's order
#else
      // K products of rounded operands in [-1, 1], |c| <= 1: the sums differ by at most a few
      // FP32 ulps of K + 1 in any order.
      test::require_close(got, want, 1e-5 * double(K + 1), 0.0, "mma tile");
#endif
    }
  }
}
