#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <limits>

#include "engine/safetensors.h"
#include "tests/test_util.h"
#include "train/checkpoint.h"
#include "train/metrics_log.h"

using namespace frcnn;

TEST_CASE("checkpoint: round trip keeps params momentum stage iteration and RNG state", "[checkpoint]") {
  auto dir = test::temp_dir("ckpt");
  CheckpointState s;
  s.stage = "frcn1";
  s.iter = 1234;
  s.rng_seed = 7;
  s.rng_step = 98765;
  s.params["conv3_1.weight"] = test::random_tensor({4, 2, 3, 3}, 1);
  s.params["fc6.bias"] = test::random_tensor({8}, 2);
  s.momentum["conv3_1.weight"] = test::random_tensor({4, 2, 3, 3}, 3);
  s.extra["config"] = "seed: 7\n";
  auto path = (dir / "ckpt.safetensors").string();
  save_checkpoint(path, s);
  CheckpointState b = load_checkpoint(path);
  REQUIRE(b.stage == "frcn1");
  REQUIRE(b.iter == 1234);
  REQUIRE(b.rng_seed == 7);
  REQUIRE(b.rng_step == 98765);
  REQUIRE(b.extra.at("config") == "seed: 7\n");
  REQUIRE(b.params.size() == 2);
  REQUIRE(b.momentum.size() == 1);
  REQUIRE(b.params.at("fc6.bias").to_vector<float>() == s.params["fc6.bias"].to_vector<float>());
  REQUIRE(b.momentum.at("conv3_1.weight").to_vector<float>() == s.momentum["conv3_1.weight"].to_vector<float>());
}

TEST_CASE("checkpoint: a plain weights file or a torn file is refused with its name", "[checkpoint]") {
  auto dir = test::temp_dir("ckpt_bad");
  auto weights = (dir / "weights.safetensors").string();
  save_safetensors(weights, {{"a", Tensor::zeros({2})}});
  REQUIRE_THROWS_WITH(load_checkpoint(weights), Catch::Contains(weights) && Catch::Contains("not a frcnn checkpoint"));
  CheckpointState s;
  s.stage = "rpn1";
  s.params["w"] = test::random_tensor({100}, 4);
  auto path = (dir / "c.safetensors").string();
  save_checkpoint(path, s);
  auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size - 7);
  REQUIRE_THROWS_WITH(load_checkpoint(path), Catch::Contains(path) && Catch::Contains("truncated"));
  // An inf in a momentum buffer would poison every later step: refused at load.
  s.momentum["w"] = Tensor::from_vector<float>({2}, {0.f, std::numeric_limits<float>::infinity()});
  save_checkpoint(path, s);
  REQUIRE_THROWS_WITH(load_checkpoint(path), Catch::Contains(path) && Catch::Contains("'momentum/w'") &&
                                                 Catch::Contains("non-finite"));
}

TEST_CASE("metrics log: JSON lines and durations", "[metrics]") {
  REQUIRE(format_duration(12.2) == "12s");
  REQUIRE(format_duration(582) == "9m42s");
  REQUIRE(format_duration(3780) == "1h03m");
  auto dir = test::temp_dir("metrics");
  auto path = (dir / "m.jsonl").string();
  {
    MetricsLog log(path);
    log.log("rpn1", 20, 100, {{"loss", 0.5}, {"rpn_cls", 0.3}}, 1e-3, 0.25, false);
    log.log("rpn1", 40, 100, {{"loss", 0.4}, {"rpn_cls", 0.2}}, 1e-3, 0.25, true);
  }
  std::ifstream in(path);
  std::string l1, l2, l3;
  std::getline(in, l1);
  std::getline(in, l2);
  REQUIRE(l1.find("\"iter\":20") != std::string::npos);
  REQUIRE(l2.find("\"rpn_cls\":0.2") != std::string::npos);
  REQUIRE_FALSE(std::getline(in, l3));
}
