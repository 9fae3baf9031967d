// What `frcnn train` prints while it runs: the effective config goes to OUT/config.yaml
// (the log says where) instead of onto the terminal, the stage line names the frozen
// backbone blocks in words that read right for 0 of them, and the progress line's ETA
// covers the whole run, not just the stage.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>

#include "tests/apps/frcnn_cli.h"
#include "tests/train/train_test_util.h"
#include "train/trainer.h"

using namespace frcnn;
using namespace frcnn::test;

TEST_CASE("train: frozen_blocks_text reads right for 0, 1 and more blocks", "[train][log]") {
  REQUIRE(frozen_blocks_text(0) == "no backbone block frozen");
  REQUIRE(frozen_blocks_text(1) == "backbone block 1 frozen");
  REQUIRE(frozen_blocks_text(2) == "backbone blocks 1..2 frozen");
  REQUIRE(frozen_blocks_text(5) == "backbone blocks 1..5 frozen");
}

TEST_CASE("train: the run's remaining time counts every later stage", "[train][log]") {
  Config c = tiny_train_config("unused");  // alt4: rpn1 6 x 1 image, frcn1 6 x 2, rpn2 4 x 1, frcn2 4 x 2
  const auto stages = make_schedule(c);
  REQUIRE(stages.size() == 4);
  // 1 s per iteration of 1 image: rpn1 has 4 left, then 6*2 + 4*1 + 4*2 image-iterations.
  REQUIRE(remaining_run_seconds(stages, 0, 2, 1.0) == Approx(4 + 12 + 4 + 8));
  // In frcn1 (2 images per iteration, 2 s each): 1 s per image for the later stages.
  REQUIRE(remaining_run_seconds(stages, 1, 5, 2.0) == Approx(2 + 4 + 8));
  REQUIRE(remaining_run_seconds(stages, 3, 4, 2.0) == Approx(0));
  Config j = tiny_train_config("unused", "joint");
  REQUIRE(remaining_run_seconds(make_schedule(j), 0, 3, 0.5) == Approx(2.5));
}

TEST_CASE("frcnn train: the config goes to OUT/config.yaml, not the terminal, and the log reads right", "[apps][log]") {
  const fs::path dir = temp_dir("train_log");
  Config cfg = tiny_train_config(tiny_dataset());
  const fs::path cfg_path = dir / "tiny.yaml";
  std::ofstream(cfg_path) << dump_config(cfg);
  const fs::path out = dir / "run";
  CmdResult r = run_frcnn(dir, "train --device cpu --no-eval -c " + quote(cfg_path.string()) + " --out " +
                                   quote(out.string()) + " --set model.backbone.frozen_blocks=0" +
                                   " --set schedule.log_every=1 --stop-after 2");
  REQUIRE(r.code == 75);
  // The effective config: in the file, one log line naming it, not dumped on the terminal.
  REQUIRE(fs::exists(out / "config.yaml"));
  REQUIRE_THAT(r.err, Catch::Contains("effective config: " + (out / "config.yaml").string()));
  REQUIRE(r.err.find("frozen_blocks:") == std::string::npos);
  REQUIRE(r.out.find("frozen_blocks:") == std::string::npos);
  REQUIRE(slurp(out / "config.yaml").find("frozen_blocks: 0") != std::string::npos);
  // "no backbone block frozen", never "blocks 1..0".
  REQUIRE_THAT(r.err, Catch::Contains("no backbone block frozen"));
  REQUIRE(r.err.find("1..0") == std::string::npos);
  // Progress lines: the ETA of the run, then what is left of the stage.
  std::smatch m;
  REQUIRE(std::regex_search(r.err, m, std::regex(R"(\[rpn1\] iter 1/6 .* ETA (\S+) \(run; stage (\S+)\))")));
}
