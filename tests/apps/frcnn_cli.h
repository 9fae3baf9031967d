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
  int code = -1;
  std::string out, err;
};

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string quote(const std::string& s) { return "'" + s + "'"; }

// Runs `frcnn <args>` with stdout and stderr captured in files under `dir`.
inline CmdResult run_frcnn(const fs::path& dir, const std::string& args) {
  static int n = 0;  // one counter per test process: file names never collide
  const fs::path out = dir / ("cmd" + std::to_string(n) + ".out"), err = dir / ("cmd" + std::to_string(n) + ".err");
  ++n;
  const std::string cmd = quote(FRCNN_BINARY_DIR "/bin/frcnn") + " " + args + " > " + quote(out.string()) + " 2> " +
                          quote(err.string());
  const int status = std::system(cmd.c_str());
  CmdResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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
