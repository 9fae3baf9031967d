// Levelled, timestamped logging to stderr:
//   2026-11-21 19:40:02.123 INFO  stage 1 RPN: iter 20/80000 ...
// The level is process-wide (set once by the command from --verbose/--quiet).
#pragma once
#include <sstream>
#include <string>

namespace frcnn {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3, Off = 4 };

void set_log_level(LogLevel level);
LogLevel log_level();
// Parses "debug", "info", "warn", "error", "off".
LogLevel parse_log_level(const std::string& s);

void log_message(LogLevel level, const std::string& msg);
inline void log_debug(const std::string& m) { log_message(LogLevel::Debug, m); }
inline void log_info(const std::string& m) { log_message(LogLevel::Info, m); }
inline void log_warn(const std::string& m) { log_message(LogLevel::Warn, m); }
inline void log_error(const std::string& m) { log_message(LogLevel::Error, m); }

// Concatenates its arguments with operator<<: log_info(str_cat("iter ", i, "/", n)).
template <class... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

}  // namespace frcnn
