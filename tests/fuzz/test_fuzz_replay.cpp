// The fuzz targets without libFuzzer (docs/FUZZING.md): every fuzz_<name>.cpp of this
// folder is compiled into this test with FRCNN_FUZZ_REPLAY, which registers its entry
// function under <name> (fuzz_util.h), and each test below runs every file of
// tests/fuzz/corpus/<name>/ and tests/fuzz/regressions/<name>/ through it. A crash found by
// fuzzing is fixed, its input saved under regressions/<name>/, and from then on this test
// replays it in `make test` (and under ASan + UBSan in the emulated build). A target that
// reports a finding aborts the test, and the file is printed before each run.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_util.h"

namespace fs = std::filesystem;

namespace frcnn::fuzz {

std::map<std::string, TargetFn>& registry() {
  static std::map<std::string, TargetFn> r;
  return r;
}

bool register_target(const char* name, TargetFn fn) {
  registry()[name] = fn;
  return true;
}

}  // namespace frcnn::fuzz

namespace {

const fs::path kFuzzDir = fs::path(FRCNN_SOURCE_DIR) / "tests" / "fuzz";

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename().string()[0] != '.') out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Runs every corpus and regression file of `name`; returns how many.
size_t replay(const std::string& name) {
  auto it = frcnn::fuzz::registry().find(name);
  REQUIRE(it != frcnn::fuzz::registry().end());
  std::vector<fs::path> inputs = files_in(kFuzzDir / "corpus" / name);
  const size_t seeds = inputs.size();
  CHECK(seeds > 0);  // every target has a seed corpus
  for (const auto& p : files_in(kFuzzDir / "regressions" / name)) inputs.push_back(p);
  for (const auto& p : inputs) {
    std::ifstream in(p, std::ios::binary);
    REQUIRE(in);
    const std::string bytes(std::istreambuf_iterator<char>(in), {});
    std::fprintf(stderr, "fuzz replay %s: %s\n", name.c_str(), p.string().c_str());
    CHECK(it->second(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()) == 0);
  }
  return inputs.size();
}

}  // namespace

TEST_CASE("fuzz replay: every fuzz_*.cpp is a registered target with a corpus folder", "[fuzz]") {
  std::vector<std::string> sources;
  for (const auto& p : files_in(kFuzzDir)) {
    const std::string f = p.filename().string();
    if (f.rfind("fuzz_", 0) == 0 && p.extension() == ".cpp") sources.push_back(f.substr(5, f.size() - 9));
  }
  std::vector<std::string> registered;
  for (const auto& [name, fn] : frcnn::fuzz::registry()) registered.push_back(name);
  std::sort(sources.begin(), sources.end());
  CHECK(sources == registered);
  for (const auto& name : registered) {
    INFO(name);
    CHECK(!files_in(kFuzzDir / "corpus" / name).empty());
  }
}

TEST_CASE("fuzz replay: voc_xml corpus and regressions", "[fuzz]") { CHECK(replay("voc_xml") > 0); }
TEST_CASE("fuzz replay: image corpus and regressions", "[fuzz]") { CHECK(replay("image") > 0); }
TEST_CASE("fuzz replay: safetensors corpus and regressions", "[fuzz]") { CHECK(replay("safetensors") > 0); }
TEST_CASE("fuzz replay: checkpoint corpus and regressions", "[fuzz]") { CHECK(replay("checkpoint") > 0); }
TEST_CASE("fuzz replay: config corpus and regressions", "[fuzz]") { CHECK(replay("config") > 0); }
