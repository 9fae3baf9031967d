// Kernel launches and launch geometry for every .cu file in the repo (include only from
// *.cu). Every launch goes through FRCNN_LAUNCH, never <<<...>>> directly:
//
//   FRCNN_LAUNCH(kernel, grid, block, shmem, stream, args...);
//
// With nvcc this is exactly kernel<<<grid, block, shmem, stream>>>(args...) followed by
// the launch check (cudaGetLastError; a stream sync with FRCNN_CUDA_SYNC_DEBUG). In the
// emulated build (FRCNN_CUDA_EMULATION, emu/) the same line runs the grid on the CPU,
// and the launch is counted by the kernel's name as written here.
//
// Geometry: kernels written as grid-stride loops ("for (i = blockIdx.x * blockDim.x +
// threadIdx.x; i < n; i += gridDim.x * blockDim.x)") take grid_stride_blocks(n); kernels
// that map one thread to one element without a loop compute their own grid.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "engine/cuda_check.h"
#include "engine/device_counters.h"

namespace frcnn {

constexpr int kBlockThreads = 256;  // the default block of the element-wise kernels
// Enough blocks for any grid-stride loop: 65535 blocks of 256 threads are about 30
// times what an H100/H200 keeps resident (132 SMs x 2048 threads).
constexpr int64_t kMaxGridStrideBlocks = 65535;

// Blocks of `threads` for a grid-stride loop over n elements (at least one block).
inline unsigned grid_stride_blocks(int64_t n, int threads = kBlockThreads) {
  return static_cast<unsigned>(std::clamp<int64_t>((n + threads - 1) / threads, 1, kMaxGridStrideBlocks));
}

struct LaunchSite {
  const char* kernel;
  const char* file;
  int line;
};

template <class... Params, class... Args>
inline void launch_kernel(const LaunchSite& site, void (*kernel)(Params...), dim3 grid, dim3 block, size_t shmem,
                          cudaStream_t stream, Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "kernel launched with the wrong number of arguments");
#if FRCNN_CUDA_EMULATION
  ::emu::launch({site.kernel, site.file, site.line}, kernel, grid, block, shmem, stream, std::forward<Args>(args)...);
#else
  // clang-format off
  kernel<<<grid, block, shmem, stream>>>(std::forward<Args>(args)...);
  // clang-format on
#endif
  check_launch(stream, site.file, site.line);
  count_kernel_launch();
}

}  // namespace frcnn

#define FRCNN_LAUNCH(kernel, grid, block, shmem, stream, ...)                                                  \
  ::frcnn::launch_kernel(::frcnn::LaunchSite{#kernel, __FILE__, __LINE__}, kernel, grid, block, shmem, stream, \
                         __VA_ARGS__)
