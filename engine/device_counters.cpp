#include "engine/device_counters.h"

#include <atomic>

#include "engine/allocator.h"
#include "engine/device.h"

namespace frcnn {

namespace {
std::atomic<int64_t> g_launches{0}, g_graph_launches{0}, g_syncs{0};
}  // namespace

void count_kernel_launch() { g_launches.fetch_add(1, std::memory_order_relaxed); }
void count_graph_launch() { g_graph_launches.fetch_add(1, std::memory_order_relaxed); }
void count_host_wait() { g_syncs.fetch_add(1, std::memory_order_relaxed); }

DeviceCounters device_counters() {
  DeviceCounters c;
  c.launches = g_launches.load();
  c.graph_launches = g_graph_launches.load();
  c.syncs = g_syncs.load();
  if (cuda_available()) c.allocations = static_cast<int64_t>(cuda_allocator_stats().raw_allocs);
  return c;
}

}  // namespace frcnn
