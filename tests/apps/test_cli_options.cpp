// Command-line details users hit: the root's --log-level before or after the subcommand,
// `frcnn bench --help` listing what bench requires, and --metric's names being the same
// in the help and in the error.
#include <catch2/catch.hpp>

#include <regex>
#include <string>

#include "tests/apps/frcnn_cli.h"
#include "tests/test_util.h"

using namespace frcnn::test;

namespace {

// The line of `frcnn <command> --help` that documents the option `pattern` matches.
std::string help_line(const fs::path& dir, const std::string& command, const std::string& pattern) {
  CmdResult help = run_frcnn(dir, command + " --help");
  REQUIRE(help.code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(help.out, m, std::regex(pattern + "[^\\n]*")));
  return m[0].str();
}

}  // namespace

TEST_CASE("frcnn: --log-level works before and after the subcommand", "[apps][cli]") {
  auto dir = temp_dir("cli_log_level");
  // synth logs at info level ("synth: ..."), so the level shows on stderr.
  CmdResult before = run_frcnn(dir, "--log-level warn synth --out " + quote((dir / "a").string()) + " --train 2 --test 1");
  REQUIRE(before.code == 0);
  REQUIRE(before.err.find(" INFO ") == std::string::npos);
  CmdResult after = run_frcnn(dir, "synth --out " + quote((dir / "b").string()) + " --train 2 --test 1 --log-level warn");
  REQUIRE(after.code == 0);
  REQUIRE(after.err.find(" INFO ") == std::string::npos);
  CmdResult info = run_frcnn(dir, "synth --log-level info --out " + quote((dir / "c").string()) + " --train 2 --test 1");
  REQUIRE(info.code == 0);
  REQUIRE(info.err.find(" INFO ") != std::string::npos);
  CmdResult bad = run_frcnn(dir, "config --log-level loud");
  REQUIRE(bad.code != 0);
  REQUIRE(bad.err.find("loud") != std::string::npos);
  // The subcommand's help mentions it.
  CmdResult help = run_frcnn(dir, "config --help");
  REQUIRE(help.code == 0);
  REQUIRE(help.out.find("--log-level") != std::string::npos);
}

TEST_CASE("frcnn bench --help lists --config as required, as bench requires it", "[apps][cli]") {
  auto dir = temp_dir("cli_bench_help");
  const std::string line = help_line(dir, "bench", "-c,--config");
  CHECK(line.find("REQUIRED") != std::string::npos);
  CHECK(line.find("default") == std::string::npos);  // no "default: the paper's setup": bench has none
  CmdResult without = run_frcnn(dir, "bench --device cpu");
  REQUIRE(without.code != 0);
  REQUIRE(without.err.find("--config") != std::string::npos);
}

TEST_CASE("frcnn eval --metric: the help and the error name the same metrics", "[apps][cli]") {
  auto dir = temp_dir("cli_metric");
  const std::string metric_help = help_line(dir, "eval", "--metric");
  CmdResult bad = run_frcnn(dir, "eval --metric voc12 --from-results " + quote(dir.string()) + " --out " +
                                     quote((dir / "e").string()));
  REQUIRE(bad.code != 0);
  std::smatch em;
  REQUIRE(std::regex_search(bad.err, em, std::regex(R"(unknown AP metric 'voc12' \(use (\S+) or (\S+)\))")));
  for (int k = 1; k <= 2; ++k) {
    INFO("metric named in the error: " << em[k].str() << "; help: " << metric_help);
    CHECK(metric_help.find(em[k].str() + " ") != std::string::npos);
  }
  CHECK(em[1].str() == "voc07");
  CHECK(em[2].str() == "voc2010");
}
