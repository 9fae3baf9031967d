// Configuration from the environment, error reporting and the per-thread last error of
// the CUDA emulation.
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include "emu/internal.h"

namespace emu::detail {

namespace {

Config read_config() {
  Config c;
  if (const char* s = getenv("FRCNN_EMU_SCHEDULE")) {
    const std::string v(s);
    if (v == "forward" || v.empty()) {
      c.order = Order::forward;
    } else if (v == "reverse") {
      c.order = Order::reverse;
    } else if (v.rfind("random", 0) == 0) {
      c.order = Order::random;
      const auto colon = v.find(':');
      if (colon != std::string::npos) c.seed = uint32_t(std::strtoul(v.c_str() + colon + 1, nullptr, 10));
    } else {
      fprintf(stderr, "[cuda-emu] FRCNN_EMU_SCHEDULE=%s: expected forward, reverse or random[:SEED]\n", s);
      exit(2);
    }
  }
  if (const char* s = getenv("FRCNN_EMU_POISON")) {
    const std::string v(s);
    c.poison = (v == "off" || v == "-1") ? -1 : int(std::strtol(s, nullptr, 0)) & 0xFF;
  }
  if (const char* s = getenv("FRCNN_EMU_STACK_KB")) c.stack_bytes = size_t(std::strtoul(s, nullptr, 10)) * 1024;
  if (const char* s = getenv("FRCNN_EMU_SM_COUNT")) c.sm_count = std::atoi(s);
  if (const char* s = getenv("FRCNN_EMU_ABORT_ON_ERROR")) c.abort_on_error = std::atoi(s) != 0;
  if (const char* s = getenv("FRCNN_EMU_HOST_ACCESS")) c.host_access = std::atoi(s) != 0;
  if (const char* s = getenv("FRCNN_EMU_LAUNCH_LOG")) c.launch_log = s;
  return c;
}

std::mutex g_report_mu;
std::map<std::string, int> g_reports_by_kind;
int64_t g_errors = 0;
thread_local cudaError_t t_last_error = cudaSuccess;

int64_t g_unclaimed = 0;  // errors no test claimed with emu::take_errors()

// A process in which the emulated device reported an error must not end as a success,
// even when the code around the failed call carried on.
void exit_check() {
  std::lock_guard<std::mutex> l(g_report_mu);
  if (g_unclaimed == 0) return;
  fprintf(stderr, "[cuda-emu] %lld device error(s) were reported (the [cuda-emu] lines above): exit status 3\n",
          static_cast<long long>(g_unclaimed));
  fflush(stderr);
  _exit(3);
}

void vreport(const char* kind, const char* fmt, va_list ap) {
  std::lock_guard<std::mutex> l(g_report_mu);
  if (g_errors == 0) atexit(exit_check);
  ++g_errors;
  ++g_unclaimed;
  bump(&Counters::errors);
  const int n = ++g_reports_by_kind[kind];
  if (n <= 5) {
    char buf[2048];
    vsnprintf(buf, sizeof buf, fmt, ap);
    fprintf(stderr, "[cuda-emu] %s: %s\n", kind, buf);
    if (n == 5) fprintf(stderr, "[cuda-emu] %s: further reports of this kind are not printed\n", kind);
  }
  if (config().abort_on_error) abort();
}

}  // namespace

Config& config() {
  static Config c = read_config();
  return c;
}

void report(const char* kind, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(kind, fmt, ap);
  va_end(ap);
}

cudaError_t fail(cudaError_t code, const char* kind, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(kind, fmt, ap);
  va_end(ap);
  set_last_error(code);
  return code;
}

void set_last_error(cudaError_t e) {
  if (e != cudaSuccess) t_last_error = e;
}
cudaError_t take_last_error() {
  const cudaError_t e = t_last_error;
  t_last_error = cudaSuccess;
  return e;
}
cudaError_t peek_last_error() { return t_last_error; }

int64_t error_count() {
  std::lock_guard<std::mutex> l(g_report_mu);
  return g_errors;
}

}  // namespace emu::detail

namespace emu {

void set_schedule(Order order, uint32_t seed) {
  detail::config().order = order;
  detail::config().seed = seed;
}

int64_t take_errors() {
  std::lock_guard<std::mutex> l(detail::g_report_mu);
  const int64_t n = detail::g_unclaimed;
  detail::g_unclaimed = 0;
  return n;
}

void set_poison(int byte) { detail::config().poison = byte < 0 ? -1 : (byte & 0xFF); }

}  // namespace emu
