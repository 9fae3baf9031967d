// Host-side CUDA half of tensor.h (tensor_cuda.cu): copies across devices and fill.
// Internal: included by tensor.cpp and tensor_cuda.cu only; compiled with CUDA.
#pragma once
#include "engine/tensor.h"

namespace frcnn {

void copy_bytes_cuda(void* dst, const Device& dst_dev, const void* src, const Device& src_dev, size_t bytes,
                     Stream stream);
void fill_cuda(void* data, DType dtype, int64_t n, double value, Stream stream);

}  // namespace frcnn
