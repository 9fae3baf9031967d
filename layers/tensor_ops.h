// Small element-wise helpers the layer code needs on both devices.
#pragma once
#include "engine/context.h"
#include "engine/tensor.h"

namespace frcnn {

// y += a * x (F32, same numel, same device as ctx). Deterministic.
void tensor_axpy(Context& ctx, float a, const Tensor& x, Tensor& y);

#if FRCNN_WITH_CUDA
void tensor_axpy_cuda(float a, const float* x, float* y, int64_t n, Stream s);
#endif

}  // namespace frcnn
