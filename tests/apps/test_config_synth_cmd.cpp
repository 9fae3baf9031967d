// The real `frcnn` binary refuses bad input before any work: `frcnn config` (and `train`)
// refuse every out-of-range config value naming the key (the table of
// tests/train/config_rules.h), and `frcnn synth` never writes into a folder it may not.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "tests/apps/frcnn_cli.h"
#include "tests/test_util.h"
#include "tests/train/config_rules.h"

using namespace frcnn;
using namespace frcnn::test;
namespace fs = std::filesystem;

TEST_CASE("frcnn config refuses an out-of-range value of every numeric key, naming it", "[config][cli]") {
  auto dir = temp_dir("cli_config");
  int walked = 0;
  for (const auto& [key, rule] : all_rules()) {
    if (rule.bad.empty()) continue;  // every value valid (e.g. <= 0: no cap)
    // The first bad value of each key; tests/train/test_config_validation.cpp runs them all in-process.
    CmdResult r = run_frcnn(dir, "config --set " + quote(key + "=" + rule.bad.front()));
    INFO(key << "=" << rule.bad.front() << "\nstderr: " << r.err);
    CHECK(r.code == 1);
    CHECK(r.err.find("'" + key) != std::string::npos);
    CHECK(r.out.empty());
    ++walked;
  }
  REQUIRE(walked > 50);
}

TEST_CASE("frcnn config and train: the SIGFPE intervals, empty --set values and files are refused up front",
          "[config][cli]") {
  auto dir = temp_dir("cli_config_msgs");
  CmdResult r = run_frcnn(dir, "config --set schedule.log_every=0");
  REQUIRE(r.code == 1);
  REQUIRE_THAT(r.err, Catch::Contains("config: 'schedule.log_every' is 0; must be >= 1"));
  const fs::path cfg = dir / "bad.yaml";
  std::ofstream(cfg) << "schedule:\n  checkpoint_every: 0\n";
  r = run_frcnn(dir, "config -c " + quote(cfg.string()));
  REQUIRE(r.code == 1);
  REQUIRE_THAT(r.err, Catch::Contains("config: 'schedule.checkpoint_every' is 0; must be >= 1"));
  // Before the fix both crashed `frcnn train` with SIGFPE (exit 136) at the first iteration.
  for (const char* set : {"schedule.log_every=0", "schedule.checkpoint_every=0"}) {
    r = run_frcnn(dir, std::string("train --device cpu --out ") + quote((dir / "run").string()) + " --set " + set);
    INFO(set);
    REQUIRE(r.code == 1);
    REQUIRE_THAT(r.err, Catch::Contains(std::string(set).substr(0, std::string(set).find('='))) &&
                            Catch::Contains("must be >= 1"));
  }
  REQUIRE_FALSE(fs::exists(dir / "run" / "config.yaml"));  // refused before the run wrote anything
  r = run_frcnn(dir, "config --set model.rpn.nms=");
  REQUIRE(r.code == 1);
  REQUIRE_THAT(r.err, Catch::Contains("empty value for 'model.rpn.nms'"));
  r = run_frcnn(dir, "config --set 'model.classes=[a, b, a]'");
  REQUIRE(r.code == 1);
  REQUIRE_THAT(r.err, Catch::Contains("'model.classes' lists 'a' twice"));
  // <= 0 is "no cap", documented in the key's comment.
  r = run_frcnn(dir, "config --set model.test.max_per_image=0 --set model.rpn.test_pre_nms=-1");
  REQUIRE(r.code == 0);
  REQUIRE_THAT(r.out, Catch::Contains("max_per_image: 0  # detections kept per image (<=0: no cap)") &&
                          Catch::Contains("test_pre_nms: -1  # proposals before NMS at test time (<=0: no cap)"));
}

namespace {

std::string synth_args(const fs::path& out, int train = 2, int test = 1) {
  return "synth --out " + quote(out.string()) + " --train " + std::to_string(train) + " --test " +
         std::to_string(test) + " --min-side 64 --max-side 80";
}

size_t count_files(const fs::path& p) {
  size_t n = 0;
  for (auto& e : fs::directory_iterator(p)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("frcnn synth refuses a non-empty --out unless --force, and never a VOC dataset it did not write",
          "[synth][cli]") {
  auto dir = temp_dir("cli_synth");
  const fs::path ds = dir / "ds";
  // A new folder, then an existing empty one: written.
  REQUIRE(run_frcnn(dir, synth_args(ds)).code == 0);
  REQUIRE(fs::exists(ds / ".frcnn-synth"));
  REQUIRE(count_files(ds / "JPEGImages") == 3);
  fs::create_directories(dir / "empty");
  REQUIRE(run_frcnn(dir, synth_args(dir / "empty")).code == 0);

  // Its own dataset again: refused without --force, untouched.
  const std::string test_list = slurp(ds / "ImageSets/Main/test.txt");
  CmdResult r = run_frcnn(dir, synth_args(ds, 4, 2));
  REQUIRE(r.code == 1);
  REQUIRE_THAT(r.err, Catch::Contains(ds.string()) && Catch::Contains("not empty") && Catch::Contains("--force"));
  REQUIRE(slurp(ds / "ImageSets/Main/test.txt") == test_list);
  REQUIRE(count_files(ds / "JPEGImages") == 3);
  // With --force it is replaced: exactly the new dataset, no stale images of the old one.
  REQUIRE(run_frcnn(dir, synth_args(ds, 1, 1) + " --force").code == 0);
  REQUIRE(count_files(ds / "JPEGImages") == 2);
  REQUIRE(slurp(ds / "ImageSets/Main/test.txt") == "000002\n");

  // A folder with other files: refused, then written with --force, the other files kept.
  const fs::path other = dir / "other";
  fs::create_directories(other);
  std::ofstream(other / "notes.txt") << "mine\n";
  r = run_frcnn(dir, synth_args(other));
  REQUIRE(r.code == 1);
  REQUIRE_THAT(r.err, Catch::Contains("not empty"));
  REQUIRE_FALSE(fs::exists(other / "JPEGImages"));
  REQUIRE(run_frcnn(dir, synth_args(other) + " --force").code == 0);
  REQUIRE(slurp(other / "notes.txt") == "mine\n");
  REQUIRE(count_files(other / "JPEGImages") == 3);

  // Someone else's VOC dataset: refused even with --force, every file as it was.
  const fs::path voc = dir / "VOC2007";
  fs::create_directories(voc / "JPEGImages");
  fs::create_directories(voc / "Annotations");
  std::ofstream(voc / "Annotations" / "000001.xml") << "<annotation/>\n";
  for (const std::string force : {"", " --force"}) {
    r = run_frcnn(dir, synth_args(voc) + force);
    INFO(force);
    REQUIRE(r.code == 1);
    REQUIRE_THAT(r.err, Catch::Contains("holds a VOC dataset that frcnn synth did not write"));
  }
  REQUIRE(slurp(voc / "Annotations" / "000001.xml") == "<annotation/>\n");
  REQUIRE(fs::is_empty(voc / "JPEGImages"));
  REQUIRE_FALSE(fs::exists(voc / ".frcnn-synth"));

  // A file where the folder should be.
  std::ofstream(dir / "afile") << "x";
  r = run_frcnn(dir, synth_args(dir / "afile") + " --force");
  REQUIRE(r.code == 1);
  REQUIRE_THAT(r.err, Catch::Contains("is not a folder"));
}
