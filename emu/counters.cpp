// Counters of the emulated device, and the launch log that the kernel-coverage test
// reads: with FRCNN_EMU_LAUNCH_LOG=DIR every process that launched kernels writes
// DIR/launches.<pid>.txt ("<count> <kernel name>" per line) when it exits.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include "emu/internal.h"

namespace emu::detail {

namespace {

struct State {
  std::mutex mu;
  Counters c;
  std::map<std::string, int64_t> by_kernel;        // since reset_counters()
  std::map<std::string, int64_t> by_kernel_total;  // whole process, for the launch log
};

void write_launch_log();

State& state() {
  // Never destroyed (launches may happen during static destruction); the log is
  // written by an atexit handler registered on first use.
  static State* s = [] {
    auto* st = new State();
    if (!config().launch_log.empty()) atexit(write_launch_log);
    return st;
  }();
  return *s;
}

void write_launch_log() {
  State& s = state();
  std::lock_guard<std::mutex> l(s.mu);
  if (s.by_kernel_total.empty()) return;
  const std::string path = config().launch_log + "/launches." + std::to_string(getpid()) + ".txt";
  FILE* f = fopen(path.c_str(), "w");
  if (!f) {
    fprintf(stderr, "[cuda-emu] cannot write the launch log %s\n", path.c_str());
    return;
  }
  for (const auto& kv : s.by_kernel_total) fprintf(f, "%lld %s\n", static_cast<long long>(kv.second), kv.first.c_str());
  fclose(f);
}

}  // namespace

void bump(int64_t Counters::*field, int64_t n) {
  State& s = state();
  std::lock_guard<std::mutex> l(s.mu);
  s.c.*field += n;
}

void count_launch(const char* kernel) {
  State& s = state();
  std::lock_guard<std::mutex> l(s.mu);
  ++s.c.launches;
  if (replaying()) ++s.c.graph_kernels;
  ++s.by_kernel[kernel];
  ++s.by_kernel_total[kernel];
}

}  // namespace emu::detail

namespace emu {

Counters counters() {
  auto& s = detail::state();
  std::lock_guard<std::mutex> l(s.mu);
  return s.c;
}

void reset_counters() {
  auto& s = detail::state();
  std::lock_guard<std::mutex> l(s.mu);
  s.c = Counters{};
  s.by_kernel.clear();
}

std::map<std::string, int64_t> launches_by_kernel() {
  auto& s = detail::state();
  std::lock_guard<std::mutex> l(s.mu);
  return s.by_kernel;
}

}  // namespace emu
