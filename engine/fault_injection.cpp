#include "engine/fault_injection.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace frcnn {

namespace {

struct KillSpec {
  std::string point;  // empty: no kill point armed
  long n = 0;
};

KillSpec parse_spec() {
  KillSpec s;
  const char* env = std::getenv("FRCNN_KILL_AT");
  if (!env || !*env) return s;
  const std::string v = env;
  const size_t at = v.rfind('@');
  char* end = nullptr;
  const long n = at == std::string::npos ? 0 : std::strtol(v.c_str() + at + 1, &end, 10);
  if (at == std::string::npos || at == 0 || n < 1 || *end != '\0') {
    static const char kMsg[] = "frcnn: FRCNN_KILL_AT must be <point>@<n> with n >= 1; ignored\n";
    [[maybe_unused]] ssize_t w = ::write(STDERR_FILENO, kMsg, sizeof(kMsg) - 1);
    return s;
  }
  s.point = v.substr(0, at);
  s.n = n;
  return s;
}

}  // namespace

void kill_point(const std::string& point) {
  static const KillSpec spec = parse_spec();
  if (spec.point.empty() || point != spec.point) return;
  static std::atomic<long> seen{0};
  if (++seen == spec.n) ::kill(::getpid(), SIGKILL);
}

}  // namespace frcnn
