// What our code asked of the CUDA device, counted in the engine, so on a real GPU too:
// kernel launches made through FRCNN_LAUNCH, CUDA graph launches, host waits (the syncs
// of synchronize(), device_synchronize() and CudaEventTimer::millis()), and backend
// allocations (the caching allocators' cudaMalloc calls). The libraries' own kernels
// (cuBLAS, cuDNN, CUB) are not in `launches`. frcnn bench reports them per image; the
// emulated device's emu::Counters see everything, libraries included.
#pragma once
#include <cstdint>

namespace frcnn {

struct DeviceCounters {
  int64_t launches = 0;
  int64_t graph_launches = 0;
  int64_t syncs = 0;
  int64_t allocations = 0;
};

// Totals since the process started (differences give an interval's counts).
DeviceCounters device_counters();

void count_kernel_launch();
void count_graph_launch();
void count_host_wait();

}  // namespace frcnn
