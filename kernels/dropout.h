// Inverted dropout on F32 tensors of any shape (CPU or CUDA).
//   element i is kept iff philox_uniform(key.seed, key.stream, i) >= p, and kept values
//   are scaled by 1/(1-p) at train time (so eval mode is the identity).
// The mask is a pure function of (key, flat index): CPU and CUDA draw the same mask for
// the same RngKey, and backward regenerates it instead of storing it. Deterministic.
// p must be in [0, 1); p = 0 is the identity.
#pragma once
#include <cstdint>

#include "engine/context.h"
#include "engine/philox.h"
#include "engine/rng.h"
#include "engine/tensor.h"

namespace frcnn {

// The multiplier of element i: 0 (dropped) or 1/(1-p) (kept).
FRCNN_HD float dropout_factor(uint64_t seed, uint64_t stream, uint64_t i, float p) {
  return philox_uniform(seed, stream, i) >= p ? 1.0f / (1.0f - p) : 0.0f;
}

// y = x * factor(i). Used for both directions: backward is gx = gy * factor(i).
Tensor dropout_apply(Context& ctx, const Tensor& x, float p, RngKey key);

void dropout_apply_cpu(const float* x, float* y, int64_t n, float p, RngKey key);

}  // namespace frcnn
