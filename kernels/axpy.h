// y += a * x on F32 tensors of the same number of elements (any shapes), on the
// context's device. Used where gradients accumulate (layers' "+=" rule). Deterministic:
// every element is computed independently, a product then a sum, each rounded on its own
// on both devices (no FMA: the _rn intrinsics on CUDA; on the CPU because baseline x86-64
// has no FMA instruction, see kernels/box_math.h).
#pragma once
#include <cstdint>

#include "engine/context.h"
#include "engine/host_device.h"
#include "engine/tensor.h"

namespace frcnn {

// One element. __fmul_rn keeps nvcc from contracting the product and the sum into one
// FMA, so the GPU rounds exactly as the CPU does.
FRCNN_HD float axpy_element(float a, float x, float y) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(y, __fmul_rn(a, x));
#else
  return y + a * x;
#endif
}

void tensor_axpy(Context& ctx, float a, const Tensor& x, Tensor& y);
// a * x as a fresh tensor of x's shape (x itself when a == 1): 0 + a * x per element.
Tensor tensor_scaled(Context& ctx, float a, const Tensor& x);

// x, y: (n)
void axpy_cpu(float a, const float* x, float* y, int64_t n);

}  // namespace frcnn
