// Shared by the fuzz targets tests/fuzz/fuzz_<name>.cpp (docs/FUZZING.md).
//
// A target is written once and built two ways:
//   - the fuzz build (-DFRCNN_FUZZ=ON, clang, scripts/fuzz.sh): FRCNN_FUZZ_TARGET(name)
//     is libFuzzer's entry, extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t);
//   - the regular test suite (FRCNN_FUZZ_REPLAY defined, any compiler, no libFuzzer): it is
//     a function registered under `name`, and tests/fuzz/test_fuzz_replay.cpp runs every file
//     of tests/fuzz/corpus/<name>/ and tests/fuzz/regressions/<name>/ through it.
//
// The parsers read paths, so the input is written to a per-process temp file and the
// path-taking entry points the commands call are fuzzed as they are. An input may make
// them throw: that is expected when the exception is a std::exception whose message names
// the input file (the project's style: "<path>: what is wrong"), or starts with one of the
// target's own prefixes. Anything else is a finding and aborts, so that libFuzzer saves the
// input: an exception of another type, a message that does not say which file (an unwrapped
// library exception: yaml-cpp, nlohmann::json, std::stoi ...), std::bad_alloc or
// std::length_error (a small input asking for a huge allocation), a violated invariant of a
// parse that succeeded. Crashes and sanitizer reports abort by themselves.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <initializer_list>
#include <new>
#include <stdexcept>
#include <string>

namespace frcnn::fuzz {

using TargetFn = int (*)(const uint8_t*, size_t);

#if defined(FRCNN_FUZZ_REPLAY)
// Defined in test_fuzz_replay.cpp.
bool register_target(const char* name, TargetFn fn);
#define FRCNN_FUZZ_TARGET(name)                                                                   \
  static int frcnn_fuzz_##name(const uint8_t* data, size_t size);                                 \
  [[maybe_unused]] static const bool frcnn_fuzz_registered_##name = frcnn::fuzz::register_target(#name, frcnn_fuzz_##name); \
  static int frcnn_fuzz_##name(const uint8_t* data, size_t size)
#else
#define FRCNN_FUZZ_TARGET(name) extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
#endif

// Reports a finding and aborts (libFuzzer then writes the input to its crash file).
[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "\nFUZZ FINDING: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

inline void check(bool ok, const std::string& what) {
  if (!ok) finding("invariant violated: " + what);
}

// A per-process temp folder (/dev/shm when there is one: no disk I/O per input), removed
// at exit.
inline const std::string& temp_folder() {
  static const std::string dir = [] {
    const char* base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
    std::string d = std::string(base) + "/frcnn-fuzz-" + std::to_string(::getpid());
    std::error_code ec;
    std::filesystem::create_directories(d, ec);
    if (ec) finding("cannot create " + d + ": " + ec.message());
    static std::string to_remove;
    to_remove = d;
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(to_remove, ignored);
    });
    return d;
  }();
  return dir;
}

// Writes the input to <temp folder>/<file_name> and returns its path.
inline std::string write_input(const uint8_t* data, size_t size, const std::string& file_name) {
  const std::string path = temp_folder() + "/" + file_name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) finding("cannot write " + path);
  if (size && std::fwrite(data, 1, size, f) != size) finding("cannot write " + path);
  std::fclose(f);
  return path;
}

// Runs `parse`; returns normally when it succeeds or throws an expected error (above).
template <class F>
void expect_clean(const std::string& path, F&& parse, std::initializer_list<const char*> prefixes = {}) {
  try {
    parse();
  } catch (const std::bad_alloc&) {
    finding("std::bad_alloc: the input asked for more memory than there is");
  } catch (const std::length_error& e) {
    finding(std::string("std::length_error (a size from the input used unchecked): ") + e.what());
  } catch (const std::exception& e) {
    const std::string msg = e.what();
    if (msg.find(path) != std::string::npos) return;
    for (const char* p : prefixes)
      if (msg.rfind(p, 0) == 0) return;
    finding("an error that does not name the file '" + path + "': " + msg);
  } catch (...) {
    finding("an exception that is not a std::exception");
  }
}

}  // namespace frcnn::fuzz
