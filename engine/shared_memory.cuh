// Shared-memory declarations for every kernel in the repo (include only from *.cu):
//
//   FRCNN_SHARED(float, red, [256]);                  // __shared__ float red[256];
//   FRCNN_SHARED_ALIGNED(16, float, As, [2][8][128]); // __shared__ __align__(16) float As[2][8][128];
//   FRCNN_SHARED(int, total, );                       // __shared__ int total;
//   int32_t* bins = dynamic_shared<int32_t>();        // extern __shared__ (the launch's shmem bytes)
//
// With nvcc these are the plain CUDA declarations in the comments. In the emulated build
// (emu/) each block gets its own copy of every variable, exactly as large as declared
// (so AddressSanitizer sees an overrun) and filled with a poison byte before the block
// runs (0xFF: NaN as float, -1 as int), so a read of shared memory no thread wrote
// changes the result instead of reusing the previous block's values.
#pragma once
#include <cuda_runtime.h>

#if FRCNN_CUDA_EMULATION

#define FRCNN_SHARED_ALIGNED(align, type, name, dims) \
  static const char name##_emu_tag = 0;               \
  auto& name = ::emu::static_shared<type dims, align>(&name##_emu_tag, #name, __FILE__, __LINE__)
#define FRCNN_SHARED(type, name, dims) FRCNN_SHARED_ALIGNED(0, type, name, dims)

namespace frcnn {
template <class T>
inline T* dynamic_shared() {
  return static_cast<T*>(::emu::dynamic_shared_raw(__FILE__, __LINE__));
}
}  // namespace frcnn

#else

#define FRCNN_SHARED_ALIGNED(align, type, name, dims) \
  __shared__ __align__(align)                         \
  type name dims
#define FRCNN_SHARED(type, name, dims) __shared__ type name dims

namespace frcnn {
// One extern array for every kernel (an extern __shared__ of a different type in each
// kernel of a file would conflict), 16-byte aligned for vector loads.
template <class T>
__device__ __forceinline__ T* dynamic_shared() {
  extern __shared__ __align__(16) unsigned char frcnn_dynamic_smem[];
  return reinterpret_cast<T*>(frcnn_dynamic_smem);
}
}  // namespace frcnn

#endif
