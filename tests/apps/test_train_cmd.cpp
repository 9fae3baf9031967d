// `frcnn train`'s exit statuses and its output folder lock, through the real binary: a
// stopped run is saved but exits non-zero (75 for --stop-after, 128 + the signal for
// SIGINT/SIGTERM, docs/USAGE.md "Exit status"), a second Ctrl-C stops at once, a second run on
// a folder in use fails, and a test split that cannot be scored is refused before training.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/apps/frcnn_cli.h"
#include "tests/train/train_test_util.h"
#include "data/voc.h"
#include "train/checkpoint.h"
#include "train/run_lock.h"

using namespace frcnn;
using namespace frcnn::test;

namespace {

fs::path write_config(const fs::path& dir, Config cfg) {
  const fs::path p = dir / "tiny.yaml";
  std::ofstream(p) << dump_config(cfg);
  return p;
}

}  // namespace

TEST_CASE("frcnn train: --stop-after exits 75 after its checkpoint, a locked --out exits 1 at once", "[apps]") {
  const fs::path dir = temp_dir("train_cmd_stop");
  const fs::path cfg = write_config(dir, tiny_train_config(tiny_dataset()));
  const fs::path out = dir / "run";
  const std::string args = "train --device cpu --no-eval -c " + quote(cfg.string()) + " --out " + quote(out.string());

  CmdResult r = run_frcnn(dir, args + " --stop-after 2");
  REQUIRE(r.code == 75);
  REQUIRE(load_checkpoint((out / "checkpoint.safetensors").string()).iter == 2);
  REQUIRE_THAT(r.err, Catch::Contains("continue with --resume"));

  {
    OutputFolderLock held(out.string());  // as another run would hold it
    r = run_frcnn(dir, args + " --resume");
    REQUIRE(r.code == 1);
    REQUIRE_THAT(r.err, Catch::Contains(out.string() + ": another frcnn run (pid " + std::to_string(::getpid()) +
                                        ") is using this output folder"));
    REQUIRE(load_checkpoint((out / "checkpoint.safetensors").string()).iter == 2);  // untouched
  }
  r = run_frcnn(dir, args + " --resume");
  REQUIRE(r.code == 0);
  REQUIRE(fs::exists(out / "model.safetensors"));
}

TEST_CASE("frcnn train: SIGINT and SIGTERM save a checkpoint and exit 130 and 143", "[apps]") {
  Config c = tiny_train_config(tiny_dataset());
  c.schedule.rpn1.iters = 1000000;  // never finishes before the signal
  for (const auto& [sig, status] : {std::pair<std::string, int>{"INT", 130}, {"TERM", 143}}) {
    const fs::path dir = temp_dir("train_cmd_sig" + sig);
    const fs::path cfg = write_config(dir, c), out = dir / "run", err = dir / "err", rc = dir / "rc";
    // The signal goes once the stage has started, so the handler is in place. (A
    // non-interactive shell starts background jobs with SIGINT ignored; the handler
    // replaces that.)
    const std::string script = quote(FRCNN_BINARY_DIR "/bin/frcnn") + " train --device cpu --no-eval -c " +
                               quote(cfg.string()) + " --out " + quote(out.string()) + " > /dev/null 2> " +
                               quote(err.string()) + " & pid=$!; for i in $(seq 1200); do grep -q 'stage rpn1' " +
                               quote(err.string()) + " && break; sleep 0.05; done; kill -" + sig +
                               " $pid; wait $pid; echo $? > " + quote(rc.string());
    REQUIRE(std::system(script.c_str()) == 0);
    INFO("stderr:\n" << slurp(err));
    REQUIRE(std::stoi(slurp(rc)) == status);
    REQUIRE_THAT(slurp(err), Catch::Contains("SIG" + sig + " received, stopping after this iteration: writing a "
                                             "checkpoint..."));
    REQUIRE(load_checkpoint((out / "checkpoint.safetensors").string()).stage == "rpn1");
  }
}

TEST_CASE("frcnn train: a second Ctrl-C stops at once and leaves the last checkpoint intact", "[apps]") {
  Config c = tiny_train_config(tiny_dataset());
  c.schedule.rpn1.iters = 1000000;
  c.schedule.checkpoint_every = 1000;
  // Larger inputs make an iteration long (~0.1-1 s) next to the few milliseconds between
  // the two signals, so the second one lands while the first is still being honoured.
  c.input.scale = 480;
  c.input.max_size = 800;
  const fs::path dir = temp_dir("train_cmd_int2");
  const fs::path cfg = write_config(dir, c), out = dir / "run", err = dir / "err", rc = dir / "rc";
  const std::string args = "train --device cpu --no-eval -c " + quote(cfg.string()) + " --out " + quote(out.string());
  REQUIRE(run_frcnn(dir, args + " --stop-after 2").code == 75);
  const std::string before = slurp_bytes(out / "checkpoint.safetensors");

  // The second SIGINT goes as soon as the handler has said it saw the first.
  const std::string script = quote(FRCNN_BINARY_DIR "/bin/frcnn") + " " + args + " --resume > /dev/null 2> " +
                             quote(err.string()) + " & pid=$!; for i in $(seq 1200); do grep -q 'stage rpn1' " +
                             quote(err.string()) + " && break; sleep 0.05; done; kill -INT $pid; " +
                             "for i in $(seq 100000); do grep -q 'SIGINT received' " + quote(err.string()) +
                             " && break; done; kill -INT $pid; wait $pid; echo $? > " + quote(rc.string());
  REQUIRE(std::system(script.c_str()) == 0);
  const std::string text = slurp(err);
  INFO("stderr:\n" << text);
  REQUIRE(std::stoi(slurp(rc)) == 130);  // killed by SIGINT: the shell's 128 + 2
  REQUIRE_THAT(text, Catch::Contains("Ctrl-C again stops at once"));
  REQUIRE(text.find("train: stopped by SIGINT") == std::string::npos);  // it did not get to finish the stop
  // The checkpoint on disk is the one from before, whole, and the run goes on from it.
  REQUIRE(slurp_bytes(out / "checkpoint.safetensors") == before);
  REQUIRE(load_checkpoint((out / "checkpoint.safetensors").string()).iter == 2);
  REQUIRE(run_frcnn(dir, args + " --resume --stop-after 1").code == 75);
  REQUIRE(load_checkpoint((out / "checkpoint.safetensors").string()).iter == 3);
}

TEST_CASE("frcnn train: a test split that cannot be scored is refused before training", "[apps]") {
  const fs::path dir = temp_dir("train_cmd_no_gt");
  const std::string voc = small_voc(dir / "voc", 4, 2, 3);
  VocDataset test_set(voc, "test", synth_class_names());
  for (const auto& r : test_set.records()) std::ofstream(r.annotation_path) << voc_annotation_xml(r.id, r.width, r.height, {});
  const fs::path cfg = write_config(dir, tiny_train_config(voc)), out = dir / "run";
  const std::string args = "train --device cpu -c " + quote(cfg.string()) + " --out " + quote(out.string());
  CmdResult r = run_frcnn(dir, args);
  REQUIRE(r.code == 1);
  REQUIRE_THAT(r.err, Catch::Contains(voc + " split 'test'") && Catch::Contains("mAP is not defined") &&
                          Catch::Contains("--no-eval"));
  REQUIRE_FALSE(fs::exists(out / "checkpoint.safetensors"));  // refused before any work
  REQUIRE(run_frcnn(dir, args + " --no-eval --stop-after 1").code == 75);
}
