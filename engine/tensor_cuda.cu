// CUDA half of tensor.h: copies across devices and fill.
#include <cuda_runtime.h>

#include <cstdint>

#include "engine/launch.cuh"
#include "engine/tensor_cuda.h"

namespace frcnn {

void copy_bytes_cuda(void* dst, const Device& dst_dev, const void* src, const Device& src_dev, size_t bytes,
                     Stream stream) {
  cudaStream_t s = cuda_stream(stream);
  cudaMemcpyKind kind = dst_dev.is_cuda() ? (src_dev.is_cuda() ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                          : cudaMemcpyDeviceToHost;
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, s));
  // Host destinations are read right after the call; pageable host sources may be
  // reused by the caller as soon as it returns.
  if (kind != cudaMemcpyDeviceToDevice) CUDA_CHECK(cudaStreamSynchronize(s));
}

template <class T>
__global__ void fill_kernel(T* __restrict__ d, int64_t n, T v) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    d[i] = v;
}

template <class T>
static void launch_fill(void* p, int64_t n, T v, cudaStream_t s) {
  FRCNN_LAUNCH(fill_kernel<T>, grid_stride_blocks(n), kBlockThreads, 0, s, static_cast<T*>(p), n, v);
}

void fill_cuda(void* data, DType dtype, int64_t n, double value, Stream stream) {
  cudaStream_t s = cuda_stream(stream);
  switch (dtype) {
    case DType::F32: launch_fill<float>(data, n, static_cast<float>(value), s); break;
    case DType::I32: launch_fill<int32_t>(data, n, static_cast<int32_t>(value), s); break;
    case DType::U8: launch_fill<uint8_t>(data, n, static_cast<uint8_t>(value), s); break;
    case DType::I64: launch_fill<int64_t>(data, n, static_cast<int64_t>(value), s); break;
    default:
      if (value != 0.0) throw std::invalid_argument(std::string("fill_: no fill for dtype ") + dtype_name(dtype));
      CUDA_CHECK(cudaMemsetAsync(data, 0, n * dtype_size(dtype), s));
  }
}

}  // namespace frcnn
