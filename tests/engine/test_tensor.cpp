#include <catch2/catch.hpp>

#include "engine/tensor.h"
#include "tests/gpu.h"
#include "tests/test_util.h"

using namespace frcnn;

TEST_CASE("tensor: create shape numel and fill", "[tensor]") {
  Tensor t = Tensor::full({2, 3, 4}, 1.5f);
  REQUIRE(t.ndim() == 3);
  REQUIRE(t.numel() == 24);
  REQUIRE(t.size(-1) == 4);
  REQUIRE(t.nbytes() == 96);
  for (float v : t.to_vector<float>()) REQUIRE(v == 1.5f);
  t.zero_();
  for (float v : t.to_vector<float>()) REQUIRE(v == 0.f);
  REQUIRE_THROWS_AS(t.size(3), std::out_of_range);
  REQUIRE_THROWS(Tensor::empty({1, 2, 3, 4, 5, 6, 7}));
  REQUIRE_THROWS(Tensor::empty({2, -1}));
  Tensor i = Tensor::full({5}, 7, DType::I32);
  REQUIRE(i.to_vector<int32_t>() == std::vector<int32_t>(5, 7));
  REQUIRE_THROWS_AS(i.data<float>(), std::invalid_argument);
}

TEST_CASE("tensor: reshape and slice are views sharing storage", "[tensor]") {
  std::vector<float> v(24);
  for (int k = 0; k < 24; ++k) v[k] = float(k);
  Tensor t = Tensor::from_vector<float>({2, 3, 4}, v);
  Tensor r = t.reshape({6, -1});
  REQUIRE(r.shape() == Shape{6, 4});
  REQUIRE(r.shares_storage_with(t));
  REQUIRE(r.data<float>() == t.data<float>());
  REQUIRE_THROWS(t.reshape({5, -1}));
  REQUIRE_THROWS(t.reshape({-1, -1}));

  Tensor s = t.slice(1, 2);  // second image
  REQUIRE(s.shape() == Shape{1, 3, 4});
  REQUIRE(s.data<float>()[0] == 12.f);
  s.data<float>()[0] = -1.f;  // writes through to the parent
  REQUIRE(t.data<float>()[12] == -1.f);
  REQUIRE_THROWS_AS(t.slice(1, 3), std::out_of_range);
  Tensor e = t.slice(2, 2);
  REQUIRE(e.numel() == 0);
}

TEST_CASE("tensor: clone and copy_from are deep copies", "[tensor]") {
  Tensor a = test::random_tensor({3, 5}, 1);
  Tensor b = a.clone();
  REQUIRE_FALSE(b.shares_storage_with(a));
  REQUIRE(b.to_vector<float>() == a.to_vector<float>());
  b.fill_(2.0);
  REQUIRE(a.to_vector<float>() != b.to_vector<float>());
  Tensor c = Tensor::empty({15});
  c.copy_from(a);
  REQUIRE(c.to_vector<float>() == a.to_vector<float>());
  REQUIRE_THROWS(c.copy_from(Tensor::empty({14})));
  REQUIRE_THROWS(c.copy_from(Tensor::empty({15}, DType::I32)));
  REQUIRE(a.to(Device::cpu()).shares_storage_with(a));
}

TEST_CASE("tensor: item and from_vector checks", "[tensor]") {
  REQUIRE(Tensor::full({1}, 3.25).item() == 3.25);
  REQUIRE_THROWS(Tensor::full({2}, 3.25).item());
  REQUIRE_THROWS(Tensor::from_vector<float>({2, 2}, {1, 2, 3}));
  Tensor t = Tensor::empty({2, 2});
  REQUIRE_THROWS_WITH(t.check_shape({2, 3}, "weights"), Catch::Contains("weights") && Catch::Contains("(2, 3)"));
}

TEST_CASE("tensor: copies between CPU and GPU round-trip", "[tensor][gpu]") {
  FRCNN_REQUIRE_GPU();
  Tensor a = test::random_tensor({4, 3, 7, 9}, 2);
  Tensor g = a.to(Device::cuda());
  REQUIRE(g.is_cuda());
  Tensor g2 = g.clone();  // device-to-device
  g2.slice(1, 2).fill_(5.0);
  Tensor back = g2.to(Device::cpu());
  auto va = a.to_vector<float>(), vb = back.to_vector<float>();
  for (size_t k = 0; k < va.size(); ++k) {
    bool in_slice = k >= 189 && k < 378;
    REQUIRE(vb[k] == (in_slice ? 5.f : va[k]));
  }
  REQUIRE(g.to_vector<float>() == va);
  Tensor z = Tensor::zeros({1000}, DType::I32, Device::cuda());
  REQUIRE(z.to_vector<int32_t>() == std::vector<int32_t>(1000, 0));
}
