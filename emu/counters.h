// What the emulated device has done, for tests: launches (in all and by kernel),
// allocations, copies and synchronisations. Host round trips are what inference must
// minimise, so tests can assert e.g. "one detect() makes exactly one device->host copy".
// The schedule and poison byte can also be set here (tests that compare schedules).
#pragma once
#include <cstdint>
#include <map>
#include <string>

namespace emu {

struct Counters {
  int64_t launches = 0;       // kernel launches that ran (a failed launch does not count)
  int64_t library_calls = 0;  // cuBLAS / CUB calls (each is one or more kernels on a GPU)
  int64_t device_allocs = 0;  // cudaMalloc
  int64_t device_frees = 0;   // cudaFree
  int64_t device_bytes_allocated = 0;
  int64_t host_allocs = 0;  // cudaHostAlloc / cudaMallocHost (pinned)
  int64_t copies_h2d = 0, copies_d2h = 0, copies_d2d = 0, copies_h2h = 0;
  int64_t bytes_h2d = 0, bytes_d2h = 0, bytes_d2d = 0;
  int64_t memsets = 0;
  int64_t stream_syncs = 0;  // cudaStreamSynchronize
  int64_t event_syncs = 0;   // cudaEventSynchronize
  int64_t device_syncs = 0;  // cudaDeviceSynchronize
  // Everything that makes the host wait for the device: the three syncs above, plus
  // synchronous (non-Async) copies and device->host copies into pageable memory.
  int64_t host_waits = 0;
  int64_t errors = 0;  // device errors reported (emu/README.md lists the kinds)
  // CUDA graphs: cudaGraphLaunch calls, and the kernels they ran (counted in launches too;
  // launches - graph_kernels are the host's own kernel launches).
  int64_t graph_launches = 0;
  int64_t graph_kernels = 0;
};

Counters counters();
void reset_counters();
// Launches by kernel name as written at the launch site (e.g. "conv_gemm_kernel<P>").
std::map<std::string, int64_t> launches_by_kernel();

// Device errors reported since the last call, which are then no longer held against
// the process: one that ends with unclaimed errors exits with status 3. For tests that
// provoke errors on purpose.
int64_t take_errors();

// Thread and block order between barriers: forward, reverse, or seeded random.
enum class Order { forward, reverse, random };
void set_schedule(Order order, uint32_t seed = 1);
// Byte that fills shared memory at block start and new device memory; -1 leaves it as
// the allocator gives it.
void set_poison(int byte);

}  // namespace emu
