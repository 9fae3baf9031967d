// Training never loses work: a tiny alt4 run is SIGKILLed at deterministic points
// (FRCNN_KILL_AT, engine/fault_injection.h: mid-iteration, while the checkpoint, the
// proposals or the final model are being written, at a stage transition, during the
// proposal pass) and at seeded random times, then resumed until it finishes; every final
// model is byte-identical to an uninterrupted run's, with the same metrics and no litter.
#include <catch2/catch.hpp>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "tests/apps/frcnn_cli.h"
#include "tests/test_util.h"
#include "tests/train/train_test_util.h"

using namespace frcnn;
using namespace frcnn::test;

namespace {

// Resumes (or, with no checkpoint yet, restarts) until the run finishes; returns the runs
// it took.
int finish_run(const fs::path& dir, const std::string& args, const fs::path& out) {
  for (int k = 1; k <= 10; ++k) {
    const bool resume = fs::exists(out / "checkpoint.safetensors");
    CmdResult r = run_frcnn(dir, args + (resume ? " --resume" : ""));
    REQUIRE(r.signal == 0);
    if (r.code == 0) return k;
    FAIL("resume failed with status " << r.code);
  }
  FAIL("the run did not finish in 10 resumes");
  return 0;
}

void require_same_run(const fs::path& out, const fs::path& want) {
  REQUIRE(slurp_bytes(out / "model.safetensors") == slurp_bytes(want / "model.safetensors"));
  REQUIRE(read_metrics((out / "metrics.jsonl").string()) == read_metrics((want / "metrics.jsonl").string()));
  for (const auto& e : fs::directory_iterator(out)) {
    INFO(e.path());
    REQUIRE(e.path().string().find(".tmp.") == std::string::npos);  // stale temp files are removed
  }
}

}  // namespace

TEST_CASE("frcnn train: SIGKILL at any point, then --resume, gives the uninterrupted run's model byte for byte",
          "[apps][fault]") {
  const fs::path dir = temp_dir("kill_resume");
  const fs::path cfg = dir / "tiny.yaml";
  std::ofstream(cfg) << dump_config(tiny_train_config(tiny_dataset()));  // checkpoints every 3 iterations
  auto args_for = [&](const fs::path& out) {
    return "train --device cpu --no-eval -c " + quote(cfg.string()) + " --out " + quote(out.string());
  };
  const fs::path want = dir / "uninterrupted";
  REQUIRE(run_frcnn(dir, args_for(want)).code == 0);

  const std::vector<std::string> points = {
      "write:config.yaml@1",              // before the first checkpoint: the run starts again
      "iteration:rpn1@4",                 // an update lost since the checkpoint at 3
      "write:checkpoint.safetensors@2",   // a torn temp checkpoint; the previous one is intact
      "stage-end:rpn1@1",                 // after rpn1's snapshot, before its proposals
      "proposals:rpn1@3",                 // during the proposal pass
      "write:proposals_rpn1.safetensors@1",
      "iteration:frcn1@5",
      "write:checkpoint.safetensors@7",
      "stage-end:rpn2@1",
      "write:model.safetensors@1",        // the last stage done, the final model torn
  };
  int n = 0;
  for (const auto& point : points) {
    const fs::path out = dir / ("killed" + std::to_string(n++));
    INFO("FRCNN_KILL_AT=" << point);
    CmdResult r = run_frcnn(dir, args_for(out), "FRCNN_KILL_AT=" + point);
    REQUIRE(r.signal == SIGKILL);
    finish_run(dir, args_for(out), out);
    require_same_run(out, want);
  }

  // Kills at seeded random times, several per run.
  std::mt19937 rng(20261202);
  for (int trial = 0; trial < 2; ++trial) {
    const fs::path out = dir / ("random" + std::to_string(trial)), rc = dir / "rc";
    for (int kill = 0; kill < 3; ++kill) {
      const double after = std::uniform_real_distribution<double>(0.2, 2.5)(rng);
      INFO("trial " << trial << ", kill " << kill << " after " << after << " s");
      const bool resume = fs::exists(out / "checkpoint.safetensors");
      const std::string script = quote(FRCNN_BINARY_DIR "/bin/frcnn") + " " + args_for(out) +
                                 (resume ? " --resume" : "") + " > /dev/null 2>&1 & pid=$!; sleep " +
                                 std::to_string(after) + "; kill -KILL $pid 2> /dev/null; wait $pid; echo $? > " +
                                 quote(rc.string());
      REQUIRE(std::system(script.c_str()) == 0);
      if (std::stoi(slurp(rc)) == 0) break;  // finished before the kill
    }
    finish_run(dir, args_for(out), out);
    require_same_run(out, want);
  }
}
