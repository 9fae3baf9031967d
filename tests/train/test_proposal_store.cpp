#include <catch2/catch.hpp>

#include "engine/safetensors.h"
#include "tests/test_util.h"
#include "train/proposal_store.h"

using namespace frcnn;

TEST_CASE("proposal store: round trip and clear errors", "[proposals]") {
  auto dir = test::temp_dir("props");
  ProposalStore s;
  s.put("000005", test::random_tensor({7, 4}, 1, 0, 300));
  s.put("000007", Tensor::empty({0, 4}));  // an image may get no proposals at all
  REQUIRE_THROWS(s.put("x", Tensor::empty({3, 5})));
  auto path = (dir / "p.safetensors").string();
  s.save(path, {{"stage", "rpn1"}});
  ProposalStore b = ProposalStore::load(path);
  REQUIRE(b.size() == 2);
  REQUIRE(b.metadata().at("stage") == "rpn1");
  REQUIRE(b.get("000005").to_vector<float>() == s.get("000005").to_vector<float>());
  REQUIRE(b.get("000007").size(0) == 0);
  REQUIRE_THROWS_WITH(b.get("000009"), Catch::Contains(path) && Catch::Contains("'000009'"));
  auto other = (dir / "w.safetensors").string();
  save_safetensors(other, {{"a", Tensor::zeros({1})}});
  REQUIRE_THROWS_WITH(ProposalStore::load(other), Catch::Contains("not a frcnn proposals file"));
}
