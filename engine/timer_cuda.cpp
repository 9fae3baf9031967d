#include <cuda_runtime.h>

#include "engine/cuda_check.h"
#include "engine/device.h"
#include "engine/device_counters.h"

namespace frcnn {

void* event_create_impl() {
  require_device(Device::cuda(0));
  cudaEvent_t e = nullptr;
  CUDA_CHECK(cudaEventCreate(&e));
  return e;
}

void event_destroy_impl(void* e) noexcept { cudaEventDestroy(static_cast<cudaEvent_t>(e)); }

void event_record_impl(void* e, Stream s) {
  CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(e), cuda_stream(s)));
}

float event_elapsed_ms_impl(void* start, void* stop) {
  count_host_wait();
  CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(stop)));
  float ms = 0.f;
  CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start), static_cast<cudaEvent_t>(stop)));
  return ms;
}

}  // namespace frcnn
