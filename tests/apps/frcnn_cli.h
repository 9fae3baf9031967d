// Runs the real `frcnn` binary from tests: exit code, stdout and stderr captured.
#pragma once
#include <catch2/catch.hpp>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace frcnn::test {

namespace fs = std::filesystem;

struct CmdResult {
  int code = -1;    // exit status; -1 when killed by a signal
  int signal = 0;   // the signal that killed it, or 0
  std::string out, err;
};

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string quote(const std::string& s) { return "'" + s + "'"; }

// Runs `frcnn <args>` with stdout and stderr captured in files under `dir`. `env` is put
// in front of the command (e.g. "FRCNN_KILL_AT=stage-end:rpn1@1").
inline CmdResult run_frcnn(const fs::path& dir, const std::string& args, const std::string& env = "") {
  static int n = 0;  // one counter per test process: file names never collide
  const fs::path out = dir / ("cmd" + std::to_string(n) + ".out"), err = dir / ("cmd" + std::to_string(n) + ".err");
  ++n;
  const std::string cmd = (env.empty() ? "" : "env " + env + " ") + quote(FRCNN_BINARY_DIR "/bin/frcnn") + " " + args + " > " + quote(out.string()) + " 2> " +
                          quote(err.string());
  const int status = std::system(cmd.c_str());
  CmdResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  if (r.code == 128 + 9) r.signal = 9;  // the shell reports its child's SIGKILL as 137
  r.out = slurp(out);
  r.err = slurp(err);
  INFO("command: " << cmd << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
  return r;
}

inline nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

}  // namespace frcnn::test
