// Helpers for the emulated device's own tests (tests/emu, built with
// FRCNN_CUDA_EMULATION only): device buffers, schedule loops, error expectations and a
// check that a piece of code ends the process with a given message.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "emu/counters.h"
#include "engine/cuda_check.h"
#include "engine/launch.cuh"
#include "engine/shared_memory.cuh"

namespace frcnn::emu_test {

// A cudaMalloc'd array of n T.
template <class T>
class DevBuf {
 public:
  explicit DevBuf(size_t n) : n_(n) { CUDA_CHECK(cudaMalloc(&p_, n * sizeof(T))); }
  explicit DevBuf(const std::vector<T>& h) : DevBuf(h.size()) { upload(h); }
  ~DevBuf() { cudaFree(p_); }
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
  T* get() const { return p_; }
  size_t size() const { return n_; }
  void upload(const std::vector<T>& h) {
    CUDA_CHECK(cudaMemcpy(p_, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    std::vector<T> h(n_);
    CUDA_CHECK(cudaMemcpy(h.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }

 private:
  T* p_ = nullptr;
  size_t n_;
};

// The three schedules the suite uses; the test body runs once under each.
struct Schedule {
  emu::Order order;
  uint32_t seed;
  const char* name;
};
inline std::vector<Schedule> all_schedules() {
  return {{emu::Order::forward, 1, "forward"}, {emu::Order::reverse, 1, "reverse"}, {emu::Order::random, 7, "random"}};
}
// Restores the process's schedule and poison byte (from the environment's defaults) at
// the end of a test that changes them.
struct ScheduleGuard {
  ~ScheduleGuard() {
    emu::set_schedule(emu::Order::forward, 1);
    emu::set_poison(0xFF);
  }
};

// `body` must fail: it throws CudaError (a failed launch or API call) and the emulator
// reports at least one device error whose message the test then no longer owes.
#define EMU_REQUIRE_DEVICE_ERROR(body)                      \
  do {                                                      \
    REQUIRE_THROWS_AS(body, ::frcnn::CudaError);            \
    REQUIRE(::emu::take_errors() > 0);                      \
  } while (0)

// Runs fn in a child process; returns its stderr and sets `signalled` when it ended by
// a signal (abort) rather than returning.
inline std::string run_in_child(const std::function<void()>& fn, bool& signalled) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  fflush(nullptr);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    fn();
    _exit(0);
  }
  close(fds[1]);
  std::string err;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) err.append(buf, size_t(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  signalled = WIFSIGNALED(status);
  return err;
}

}  // namespace frcnn::emu_test
