#include <cuda_runtime.h>

#include "engine/cuda_check.h"
#include "engine/device.h"

namespace frcnn {

void stream_synchronize_impl(void* h) {
  if (!cuda_available()) return;
  CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(h)));
}

void device_synchronize_impl() {
  if (!cuda_available()) return;
  CUDA_CHECK(cudaDeviceSynchronize());
}

void* stream_create_impl() {
  require_device(Device::cuda(0));
  cudaStream_t s = nullptr;
  CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return s;
}

void stream_destroy_impl(void* h) noexcept { cudaStreamDestroy(static_cast<cudaStream_t>(h)); }

}  // namespace frcnn
