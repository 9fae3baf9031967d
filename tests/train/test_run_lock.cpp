// The output folder's lock and the removal of stale temp files (train/run_lock.h).
#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/train/train_test_util.h"
#include "train/run_lock.h"
#include "train/trainer.h"

using namespace frcnn;
namespace fs = std::filesystem;

namespace {

// A pid that names no process: a child's, once it has exited and been reaped.
pid_t dead_pid() {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) ::_exit(0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return pid;
}

void touch(const fs::path& p) { std::ofstream(p) << "x"; }

}  // namespace

TEST_CASE("run lock: a second lock on the same folder fails while the first is held", "[run_lock]") {
  auto dir = test::temp_dir("run_lock");
  {
    OutputFolderLock first(dir.string());
    // flock locks belong to the open file description, so a second open in this very
    // process conflicts as another process's would.
    REQUIRE_THROWS_WITH(OutputFolderLock(dir.string()),
                        Catch::Contains(dir.string()) && Catch::Contains("another frcnn run (pid " +
                                                                         std::to_string(::getpid()) + ")"));
    REQUIRE_THROWS_WITH(OutputFolderLock((dir / "." / "").string()), Catch::Contains("is using this output folder"));
    OutputFolderLock elsewhere((dir / "sub").string());  // another folder is another lock
  }
  OutputFolderLock again(dir.string());  // released with the first
  REQUIRE(fs::exists(dir / ".frcnn-lock"));
}

TEST_CASE("run lock: train() refuses a folder another run holds", "[run_lock]") {
  Context ctx;
  Config cfg = test::tiny_train_config(test::tiny_dataset());
  auto out = test::temp_dir("run_lock_train");
  OutputFolderLock held(out.string());
  REQUIRE_THROWS_WITH(train(cfg, ctx, {out.string(), "", false, 1}), Catch::Contains("another frcnn run"));
  REQUIRE_FALSE(fs::exists(out / "config.yaml"));  // refused before writing anything
}

TEST_CASE("run lock: stale temp files of dead processes are removed, nothing else", "[run_lock]") {
  auto dir = test::temp_dir("run_lock_stale");
  const std::string dead = std::to_string(dead_pid()), live = std::to_string(::getpid());
  const fs::path stale = dir / ("checkpoint.safetensors.tmp." + dead);
  const fs::path ours = dir / ("checkpoint.safetensors.tmp." + live);
  const std::vector<fs::path> kept = {
      ours,
      dir / "checkpoint.safetensors",
      dir / ("notes.tmp." + dead + "x"),  // not a pid
      dir / (".tmp." + dead),             // no name before the suffix
      dir / ("data.tmp.1"),               // pid 1 is alive
  };
  touch(stale);
  for (const auto& p : kept) touch(p);
  fs::create_directories(dir / ("eval.tmp." + dead));  // a folder, not a file write_file_atomic wrote

  const auto removed = remove_stale_temp_files(dir.string());
  REQUIRE(removed == std::vector<std::string>{stale.string()});
  REQUIRE_FALSE(fs::exists(stale));
  for (const auto& p : kept) REQUIRE(fs::exists(p));
  REQUIRE(fs::is_directory(dir / ("eval.tmp." + dead)));
  REQUIRE(remove_stale_temp_files((dir / "missing").string()).empty());
  // Taking the folder's lock clears them too (every run that holds a folder starts clean).
  touch(stale);
  {
    OutputFolderLock lock(dir.string());
    REQUIRE_FALSE(fs::exists(stale));
    for (const auto& p : kept) REQUIRE(fs::exists(p));
  }
}
