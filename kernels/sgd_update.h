// The SGD-with-momentum update of one parameter tensor, Caffe's rule (the released
// Faster R-CNN solver; train/sgd.h applies it to every parameter):
//   v = momentum * v + lr_eff * (g + decay_eff * w);  w = w - v
// w, v, g: F32 tensors of one shape on the context's device; w and v are updated in
// place. Deterministic, element by element. Both devices do the same five float
// operations in the same order, each rounded on its own: on CUDA the _rn intrinsics below
// forbid FMA contraction; on the CPU nothing is contracted only because the target
// (baseline x86-64) has no FMA instruction: a host build for an FMA target would fuse
// them unless given -ffp-contract=off (kernels/box_math.h).
#pragma once
#include <cstdint>

#include "engine/context.h"
#include "engine/host_device.h"
#include "engine/tensor.h"

namespace frcnn {

// One element. The _rn intrinsics keep nvcc from contracting products and sums into
// FMAs, so the GPU rounds exactly as the CPU does.
FRCNN_HD void sgd_update_element(float& w, float& v, float g, float lr_eff, float momentum, float decay_eff) {
#if defined(__CUDA_ARCH__)
  const float vi = __fadd_rn(__fmul_rn(momentum, v), __fmul_rn(lr_eff, __fadd_rn(g, __fmul_rn(decay_eff, w))));
  v = vi;
  w = __fsub_rn(w, vi);
#else
  const float vi = momentum * v + lr_eff * (g + decay_eff * w);
  v = vi;
  w -= vi;
#endif
}

void sgd_update(Context& ctx, Tensor& w, Tensor& v, const Tensor& g, float lr_eff, float momentum, float decay_eff);

// w, v, g: (n)
void sgd_update_cpu(float* w, float* v, const float* g, int64_t n, float lr_eff, float momentum, float decay_eff);

}  // namespace frcnn
