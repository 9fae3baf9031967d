// Deterministic weight initialisation from the counter-based RNG (engine/philox.h):
// value i of a tensor is a pure function of (seed, stream, i), generated on the host
// and copied to the tensor's device, so the CPU and a GPU start from identical weights.
// Normals: Box-Muller on two Philox uniforms per element (u1 = uniform(2i),
// u2 = uniform(2i + 1)): z = sqrt(-2 ln(1 - u1)) cos(2 pi u2).
#pragma once
#include <cstdint>

#include "engine/context.h"
#include "engine/rng.h"
#include "engine/tensor.h"

namespace frcnn {

// The i-th standard normal of (seed, stream).
float philox_normal(uint64_t seed, uint64_t stream, uint64_t i);

// N(0, std^2) in every element (RPN/cls heads: 0.01, bbox regressor: 0.001).
void init_gaussian(Context& ctx, Tensor& t, float std, RngKey key);
// MSRA / He: N(0, 2 / fan_in), fan_in = numel / shape[0] (conv: in*kh*kw; linear: in).
void init_msra(Context& ctx, Tensor& t, RngKey key);
// Xavier / Glorot uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)), fan_out = shape[0] * kh * kw.
void init_xavier(Context& ctx, Tensor& t, RngKey key);
// Zeros (biases).
void init_zeros(Context& ctx, Tensor& t);

}  // namespace frcnn
