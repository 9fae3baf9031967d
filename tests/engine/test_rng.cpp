#include <catch2/catch.hpp>
#include <set>

#include "engine/philox.h"
#include "engine/rng.h"
#include "tests/gpu.h"

using namespace frcnn;

TEST_CASE("rng: Philox4x32-10 matches the Random123 known-answer vectors", "[rng]") {
  struct Kat {
    Philox4 ctr;
    uint32_t k0, k1;
    Philox4 out;
  };
  const Kat kats[] = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}}},
      {{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}}, 0xffffffff, 0xffffffff,
       {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}}},
      {{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}}, 0xa4093822, 0x299f31d0,
       {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}},
  };
  for (const auto& k : kats) {
    Philox4 r = philox4x32_10(k.ctr, k.k0, k.k1);
    for (int i = 0; i < 4; ++i) REQUIRE(r.v[i] == k.out.v[i]);
  }
}

TEST_CASE("rng: uniforms lie in the unit interval and streams differ", "[rng]") {
  CounterRng rng(42);
  RngKey a = rng.key(RngPurpose::Dropout, 1), b = rng.key(RngPurpose::Dropout, 2);
  REQUIRE(a.stream != b.stream);
  double sum = 0;
  int same = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    float u = a.uniform(i);
    REQUIRE(u >= 0.f);
    REQUIRE(u < 1.f);
    sum += u;
    same += a.u32(i) == b.u32(i);
  }
  REQUIRE(sum / n == Approx(0.5).margin(0.005));
  REQUIRE(same < 5);
  // Same (seed, step, purpose) gives the same stream; another step another one.
  REQUIRE(CounterRng(42).key(RngPurpose::Dropout, 1).stream == a.stream);
  CounterRng later(42);
  later.advance();
  REQUIRE(later.key(RngPurpose::Dropout, 1).stream != a.stream);
  REQUIRE(CounterRng(43).key(RngPurpose::Dropout, 1).uniform(0) != a.uniform(0));
}

TEST_CASE("rng: fill_uniform is a pure function of seed stream and index", "[rng]") {
  Tensor t = Tensor::empty({1000});
  RngKey key{7, 9};
  fill_uniform(t, key);
  auto v = t.to_vector<float>();
  for (int i = 0; i < 1000; ++i) REQUIRE(v[i] == philox_uniform(7, 9, i));
  std::set<float> distinct(v.begin(), v.end());
  REQUIRE(distinct.size() > 990);
}

TEST_CASE("rng: CUDA draws exactly the CPU's numbers", "[rng][gpu]") {
  FRCNN_REQUIRE_GPU();
  RngKey key = CounterRng(1234, 17).key(RngPurpose::AnchorSampling, 3, 5);
  Tensor cpu = Tensor::empty({3, 100003});
  Tensor gpu = Tensor::empty({3, 100003}, DType::F32, Device::cuda());
  fill_uniform(cpu, key);
  fill_uniform(gpu, key);
  REQUIRE(gpu.to_vector<float>() == cpu.to_vector<float>());
}
