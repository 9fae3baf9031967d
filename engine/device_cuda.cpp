// CUDA half of device.h (compiled only with FRCNN_WITH_CUDA).
#include <cuda_runtime.h>

#include "engine/cuda_check.h"
#include "engine/device.h"

namespace frcnn {

int cuda_device_count_impl() {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    // No driver or no device: a normal situation for a CPU machine, not an error.
    (void)cudaGetLastError();
    return 0;
  }
  return n;
}

std::vector<GpuInfo> list_gpus_impl() {
  std::vector<GpuInfo> out;
  int n = cuda_device_count_impl();
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p{};
    CUDA_CHECK(cudaGetDeviceProperties(&p, i));
    GpuInfo g;
    g.index = i;
    g.name = p.name;
    g.total_memory = p.totalGlobalMem;
    g.cc_major = p.major;
    g.cc_minor = p.minor;
    g.multiprocessors = p.multiProcessorCount;
    out.push_back(g);
  }
  return out;
}

}  // namespace frcnn
