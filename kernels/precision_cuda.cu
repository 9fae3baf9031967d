// Element-wise kernels of precision.h (grid-stride loops over the shared rounding functions).
#include "kernels/cuda_util.cuh"
#include "kernels/precision_cuda.h"
#include "kernels/tensor_formats.h"

namespace frcnn {
namespace {

__global__ void round_to_precision_kernel(const float* __restrict__ x, float* y, int64_t n, MathMode m) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = m == MathMode::Tf32 ? ptx::round_to_tf32(x[i]) : m == MathMode::Bf16 ? ptx::round_to_bf16(x[i]) : x[i];
}

__global__ void to_bf16_kernel(const float* __restrict__ x, uint16_t* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = ptx::bf16_round_bits(ptx::float_bits(x[i]));
}

__global__ void bf16_to_f32_kernel(const uint16_t* __restrict__ x, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = ptx::bf16_bits_float(x[i]);
}

}  // namespace

void round_to_precision_cuda(const float* x, float* y, int64_t n, MathMode m, Stream s) {
  FRCNN_LAUNCH(round_to_precision_kernel, grid_stride_blocks(n), kBlockThreads, 0, cuda_stream(s), x, y, n, m);
}

void to_bf16_cuda(const float* x, uint16_t* y, int64_t n, Stream s) {
  FRCNN_LAUNCH(to_bf16_kernel, grid_stride_blocks(n), kBlockThreads, 0, cuda_stream(s), x, y, n);
}

void bf16_to_f32_cuda(const uint16_t* x, float* y, int64_t n, Stream s) {
  FRCNN_LAUNCH(bf16_to_f32_kernel, grid_stride_blocks(n), kBlockThreads, 0, cuda_stream(s), x, y, n);
}

}  // namespace frcnn
