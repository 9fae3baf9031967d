// What the .cu files in kernels/ share: the launch helper and geometry
// (engine/launch.cuh), shared-memory declarations (engine/shared_memory.cuh), device
// scratch memory from the caching allocator, and the CUB calls (stable radix sorts,
// compaction) that several ops use. Include only from *.cu.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cub/cub.cuh>
#include <thrust/iterator/counting_iterator.h>

#include "engine/cuda_check.h"
#include "engine/launch.cuh"
#include "engine/shared_memory.cuh"
#include "engine/tensor.h"

namespace frcnn::cuda_detail {

// Device scratch memory of `n` elements of T (a Tensor keeps it alive; the caching
// allocator makes this cheap).
template <class T>
struct Scratch {
  Tensor t;
  T* p = nullptr;
  Scratch(int64_t n, const Device& dev, Stream s) {
    t = Tensor::empty({std::max<int64_t>(n, 1) * static_cast<int64_t>(sizeof(T))}, DType::U8, dev, s);
    p = reinterpret_cast<T*>(t.raw_data());
  }
};

// Stable sort of (key, value) pairs by key, descending: equal keys keep their input
// order (CUB's radix sort is stable), which is what makes "ties by lower index" hold.
template <class K, class V>
void sort_pairs_descending(const K* keys_in, K* keys_out, const V* vals_in, V* vals_out, int n, const Device& dev,
                           Stream stream) {
  if (n <= 0) return;
  cudaStream_t s = cuda_stream(stream);
  size_t bytes = 0;
  CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(nullptr, bytes, keys_in, keys_out, vals_in, vals_out, n, 0,
                                                       int(sizeof(K) * 8), s));
  Scratch<uint8_t> tmp(static_cast<int64_t>(bytes), dev, stream);
  CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(tmp.p, bytes, keys_in, keys_out, vals_in, vals_out, n, 0,
                                                       int(sizeof(K) * 8), s));
}

// Stable ascending sort of keys only.
template <class K>
void sort_keys_ascending(const K* keys_in, K* keys_out, int n, const Device& dev, Stream stream) {
  if (n <= 0) return;
  cudaStream_t s = cuda_stream(stream);
  size_t bytes = 0;
  CUDA_CHECK(cub::DeviceRadixSort::SortKeys(nullptr, bytes, keys_in, keys_out, n, 0, int(sizeof(K) * 8), s));
  Scratch<uint8_t> tmp(static_cast<int64_t>(bytes), dev, stream);
  CUDA_CHECK(cub::DeviceRadixSort::SortKeys(tmp.p, bytes, keys_in, keys_out, n, 0, int(sizeof(K) * 8), s));
}

// Writes the ascending indices i < n with flags[i] != 0 to out and their count to
// *count_dev (device memory). Order preserving.
inline void select_flagged_indices(const uint8_t* flags, int n, int32_t* out, int32_t* count_dev, const Device& dev,
                                   Stream stream) {
  cudaStream_t s = cuda_stream(stream);
  if (n <= 0) {
    CUDA_CHECK(cudaMemsetAsync(count_dev, 0, sizeof(int32_t), s));
    return;
  }
  thrust::counting_iterator<int32_t> it(0);
  size_t bytes = 0;
  CUDA_CHECK(cub::DeviceSelect::Flagged(nullptr, bytes, it, flags, out, count_dev, n, s));
  Scratch<uint8_t> tmp(static_cast<int64_t>(bytes), dev, stream);
  CUDA_CHECK(cub::DeviceSelect::Flagged(tmp.p, bytes, it, flags, out, count_dev, n, s));
}

// Copies one int from the device (synchronises the stream).
inline int32_t read_count(const int32_t* count_dev, Stream stream) {
  int32_t h = 0;
  CUDA_CHECK(cudaMemcpyAsync(&h, count_dev, sizeof(int32_t), cudaMemcpyDeviceToHost, cuda_stream(stream)));
  CUDA_CHECK(cudaStreamSynchronize(cuda_stream(stream)));
  return h;
}

}  // namespace frcnn::cuda_detail
