#include "train/run_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "engine/log.h"

namespace frcnn {

namespace fs = std::filesystem;

namespace {

// The pid recorded by the lock's holder, or "" when the file is empty or unreadable (the
// holder may be between taking the lock and writing its pid).
std::string read_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return "";
  std::string s(buf, size_t(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s.find_first_not_of("0123456789") == std::string::npos ? s : "";
}

}  // namespace

OutputFolderLock::OutputFolderLock(const std::string& dir) : path_((fs::path(dir) / ".frcnn-lock").string()) {
  fs::create_directories(dir);
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error(path_ + ": cannot open the output folder's lock file: " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const std::string pid = read_pid(fd_);
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw std::runtime_error(dir + ": another frcnn run" + (pid.empty() ? "" : " (pid " + pid + ")") +
                               " is using this output folder (" + path_ +
                               " is locked); wait for it to finish or use another --out");
    throw std::runtime_error(path_ + ": cannot lock the output folder: " + std::strerror(err));
  }
  // Only the holder writes, so the pid is never a mix of two runs'.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != ssize_t(pid.size()))
    log_warn(path_ + ": could not record this run's pid: " + std::strerror(errno));
  remove_stale_temp_files(dir);
}

OutputFolderLock::~OutputFolderLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

std::vector<std::string> remove_stale_temp_files(const std::string& dir) {
  std::vector<std::string> removed;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return removed;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const size_t at = name.rfind(".tmp.");
    if (at == std::string::npos || at == 0) continue;
    const std::string digits = name.substr(at + 5);
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const long pid = std::stol(digits);
    if (pid <= 0 || !entry.is_regular_file(ec)) continue;
    if (::kill(pid_t(pid), 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge (EPERM)
    if (fs::remove(entry.path(), ec)) {
      log_info(entry.path().string() + ": removed, a temporary file left by process " + digits +
               ", which is no longer running");
      removed.push_back(entry.path().string());
    } else if (ec) {
      log_warn(entry.path().string() + ": stale temporary file not removed: " + ec.message());
    }
  }
  return removed;
}

}  // namespace frcnn
