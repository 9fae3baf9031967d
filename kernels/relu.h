// ReLU on F32 tensors of any shape (CPU or CUDA; the device comes from the tensors).
//   forward:  y = max(x, 0)                     (inplace: y is x's storage)
//   backward: gx = gy where y > 0, else 0        (reads the OUTPUT y, so an in-place
//             forward loses nothing; gx may be gy itself when inplace_grad is set)
// Deterministic on both devices (element-wise).
#pragma once
#include <cstdint>

#include "engine/context.h"
#include "engine/tensor.h"

namespace frcnn {

Tensor relu_forward(Context& ctx, const Tensor& x, bool inplace = false);
// y, gy: same shape. Returns gx (a new tensor, or gy's storage with inplace_grad).
Tensor relu_backward(Context& ctx, const Tensor& y, const Tensor& gy, bool inplace_grad = false);

// Raw launchers (n elements; pointers on the launcher's device).
void relu_forward_cpu(const float* x, float* y, int64_t n);
void relu_backward_cpu(const float* y, const float* gy, float* gx, int64_t n);

}  // namespace frcnn
