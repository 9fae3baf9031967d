// Shared by the emulation's own .cpp files (not by the code it runs): configuration from
// the environment, the device lock, device-memory bookkeeping, error reporting, counters.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "emu/counters.h"
#include "emu/runtime_api.h"

namespace emu::detail {

// FRCNN_EMU_* environment variables, read once (emu/README.md lists them).
struct Config {
  Order order = Order::forward;
  uint32_t seed = 1;
  int poison = 0xFF;                // FRCNN_EMU_POISON: byte, or -1 for none
  size_t stack_bytes = 256 * 1024;  // FRCNN_EMU_STACK_KB
  int sm_count = 132;               // FRCNN_EMU_SM_COUNT (an H100/H200 has 132)
  bool abort_on_error = false;      // FRCNN_EMU_ABORT_ON_ERROR=1: abort at the first device error
  bool host_access = false;         // FRCNN_EMU_HOST_ACCESS=1: host code may touch device memory
  std::string launch_log;           // FRCNN_EMU_LAUNCH_LOG=DIR: launch counts written there at exit
};
Config& config();

// The device lock: kernels, copies, memsets and library calls run one at a time, holding
// it. While it is held device memory is accessible; otherwise (unless host_access) it
// is mapped PROT_NONE, so host code that dereferences a device pointer faults, as it
// does with a GPU.
class DeviceScope {
 public:
  DeviceScope();
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  std::unique_lock<std::recursive_mutex> lock_;
};

// Device memory (emu/memory.cpp).
void* device_alloc(size_t bytes);  // nullptr when out of (emulated) memory
bool device_free(void* p);         // false: not a live allocation base
void* pinned_alloc(size_t bytes);
bool pinned_free(void* p);
// [p, p + bytes) inside one live device allocation / pinned allocation.
bool is_device_range(const void* p, size_t bytes);
bool is_pinned_range(const void* p, size_t bytes);
bool is_device_or_pinned(const void* p);  // a pointer a kernel may dereference
size_t device_bytes_in_use();
size_t page_size();
size_t device_capacity();
void poison_bytes(void* p, size_t bytes);  // with config().poison, if any

// Errors (emu/diagnostics.cpp). report() prints "[cuda-emu] kind: message" (the first
// few of each kind), counts it, and marks the running launch failed; set_last_error /
// take_last_error are the per-thread cudaGetLastError state.
void report(const char* kind, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
cudaError_t fail(cudaError_t code, const char* kind, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
void set_last_error(cudaError_t e);
cudaError_t take_last_error();
cudaError_t peek_last_error();
int64_t error_count();

// Counters (emu/counters.cpp), thread safe.
void bump(int64_t Counters::*field, int64_t n = 1);
void count_launch(const char* kernel);

// Streams (emu/runtime.cpp): null, cudaStreamLegacy, cudaStreamPerThread or a live one.
bool stream_is_valid(cudaStream_t s);

// Stream capture (emu/graph.cpp). Work is a recorded operation, run with the stream its
// graph is launched on.
using Work = std::function<void(cudaStream_t)>;
bool capturing(cudaStream_t stream);  // the stream is capturing: record, do not run
cudaError_t capture(cudaStream_t stream, const char* what, Work work);
// Before work is run now on `stream`: an error when it is the legacy stream and a
// capture is under way (see graph.cpp).
cudaError_t check_enqueue(cudaStream_t stream, const char* what);
// A call real CUDA refuses during a capture: an error when one is under way and the call
// concerns `stream` (a capturing or the legacy stream), or any stream when any_stream.
cudaError_t check_capture_safe(const char* api, cudaStream_t stream, bool any_stream);
bool replaying();  // running a graph launch's work (counted as graph_kernels)

// Scheduler hooks used by the runtime.
bool in_kernel();
uint64_t next_launch_index();

}  // namespace emu::detail
