// apps/run_setup: option parsing, config + overrides, the printed config, the device,
// and the input convention rule (weights metadata first, then the config).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "apps/run_setup.h"
#include "engine/safetensors.h"
#include "tests/test_util.h"

using namespace frcnn;
using namespace frcnn::cli;
namespace fs = std::filesystem;

TEST_CASE("run setup: options parse with repeated --set before positionals", "[run_setup]") {
  CLI::App app;
  auto* cmd = app.add_subcommand("x");
  RunOptions opt;
  std::vector<std::string> pos;
  add_run_options(cmd, opt);
  cmd->add_option("images", pos);
  std::vector<std::string> argv = {"frcnn", "x", "--set", "model.test.nms=0.4", "--set", "input.scale=300",
                                   "--device", "cpu", "a.jpg", "b.jpg"};
  std::vector<char*> args;
  for (auto& s : argv) args.push_back(s.data());
  app.parse(int(args.size()), args.data());
  REQUIRE(opt.sets == std::vector<std::string>{"model.test.nms=0.4", "input.scale=300"});
  REQUIRE(opt.device == "cpu");
  REQUIRE(pos == std::vector<std::string>{"a.jpg", "b.jpg"});
}

TEST_CASE("run setup: start_run applies overrides writes config.yaml and makes the context", "[run_setup]") {
  auto dir = test::temp_dir("run_setup");
  const fs::path cfg = dir / "c.yaml";
  std::ofstream(cfg) << "input:\n  scale: 321\n";
  RunOptions opt;
  opt.config = cfg.string();
  opt.sets = {"model.test.score_threshold=0.25"};
  opt.device = "cpu";
  Run run = start_run(opt, (dir / "out").string());
  REQUIRE(run.cfg.input.scale == 321);
  REQUIRE(run.cfg.model.test.score_threshold == Approx(0.25));
  REQUIRE(run.ctx->device().is_cpu());
  // The dump is the effective config and loads back to the same values.
  Config again = load_config((dir / "out" / "config.yaml").string());
  REQUIRE(again.input.scale == 321);
  REQUIRE(again.model.test.score_threshold == Approx(0.25));

  opt.sets = {"model.backbone.conv_backend=fast"};
  REQUIRE_THROWS_WITH(start_run(opt, ""), Catch::Contains("conv_backend"));
  opt.sets = {};
  opt.device = "tpu";
  REQUIRE_THROWS_WITH(start_run(opt, ""), Catch::Contains("tpu"));
}

TEST_CASE("run setup: weights metadata wins over config input.convention", "[run_setup]") {
  Config cfg;
  cfg.input.convention = "caffe";
  auto tv = InputConvention::torchvision();
  REQUIRE(resolve_input_convention(tv.to_metadata(), "w.safetensors", cfg) == tv);
  REQUIRE(resolve_input_convention({}, "w.safetensors", cfg) == InputConvention::caffe());
  cfg.input.convention = "torchvision";
  REQUIRE(resolve_input_convention({}, "w.safetensors", cfg) == tv);
  REQUIRE(resolve_input_convention(InputConvention::caffe().to_metadata(), "w", cfg) == InputConvention::caffe());
  cfg.input.convention = "opencv";
  REQUIRE_THROWS_WITH(resolve_input_convention({}, "w", cfg), Catch::Contains("opencv"));
  // Partial metadata is an error naming the file, not a silent fallback.
  REQUIRE_THROWS_WITH(resolve_input_convention({{"input.channel_order", "rgb"}}, "w.safetensors", cfg),
                      Catch::Contains("w.safetensors"));
}

TEST_CASE("run setup: metadata is read from the safetensors header alone", "[run_setup]") {
  auto dir = test::temp_dir("run_setup_meta");
  const fs::path w = dir / "w.safetensors";
  auto meta = InputConvention::torchvision().to_metadata();
  meta["classes"] = "a,b";
  save_safetensors(w.string(), {{"t", Tensor::zeros({2, 3})}}, meta);
  auto got = read_safetensors_metadata(w.string());
  REQUIRE(got.at("classes") == "a,b");
  REQUIRE(got.at("input.channel_order") == "rgb");
  Config cfg;
  REQUIRE(input_convention_for_weights(w.string(), cfg) == InputConvention::torchvision());

  REQUIRE_THROWS_WITH(read_safetensors_metadata((dir / "missing.safetensors").string()),
                      Catch::Contains("missing.safetensors"));
  const fs::path junk = dir / "junk.safetensors";
  std::ofstream(junk, std::ios::binary) << "0123456789abcdef";
  REQUIRE_THROWS_WITH(read_safetensors_metadata(junk.string()), Catch::Contains("junk.safetensors"));
}
