#include <cuda_runtime.h>

#include "engine/cuda_check.h"
#include "engine/device.h"
#include "engine/device_counters.h"

namespace frcnn {

void stream_synchronize_impl(void* h) {
  if (!cuda_available()) return;
  count_host_wait();
  CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(h)));
}

void device_synchronize_impl() {
  if (!cuda_available()) return;
  count_host_wait();
  CUDA_CHECK(cudaDeviceSynchronize());
}

void* stream_create_impl() {
  require_device(Device::cuda(0));
  cudaStream_t s = nullptr;
  // A blocking stream: work on it is ordered with the legacy default stream, which
  // Tensor::to()/to_vector()/copy_from() use when no stream is passed. A non-blocking
  // stream would let such a copy read an op's output before the op has run.
  CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamDefault));
  return s;
}

void stream_destroy_impl(void* h) noexcept { cudaStreamDestroy(static_cast<cudaStream_t>(h)); }

}  // namespace frcnn
