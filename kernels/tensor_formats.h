// The number formats of the tensor-core paths, bit-exact as the GPU makes them, shared by
// device code (kernels/ptx.cuh and its emulated twins) and the CPU references.
#pragma once
#include <cstdint>
#include <cstring>

#include "engine/host_device.h"

namespace frcnn::ptx {

// TF32 as cvt.rna.tf32.f32 makes it: round to nearest, ties away from zero, to 10 mantissa
// bits (the low 13 bits of the float become 0). NaN and inf pass unchanged.
FRCNN_HD uint32_t tf32_round_bits(uint32_t u) {
  if ((u & 0x7F800000u) == 0x7F800000u) return u;  // inf, NaN
  return (u + 0x1000u) & 0xFFFFE000u;             // sign-magnitude: +half an ulp rounds ties away
}
// What the tensor core reads of a .tf32 operand: the top 19 bits (sign, exponent, 10 mantissa).
FRCNN_HD uint32_t tf32_truncate_bits(uint32_t u) { return u & 0xFFFFE000u; }

// BF16 bits of a float, round to nearest even (as __float2bfloat16_rn); NaN stays a NaN.
FRCNN_HD uint16_t bf16_round_bits(uint32_t u) {
  if ((u & 0x7F800000u) == 0x7F800000u && (u & 0x007FFFFFu)) return uint16_t((u >> 16) | 0x0040u);
  return uint16_t((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

FRCNN_HD uint32_t float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
FRCNN_HD float bits_float(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}
FRCNN_HD float bf16_bits_float(uint16_t b) { return bits_float(uint32_t(b) << 16); }
// The value a float becomes as a TF32 / BF16 operand.
FRCNN_HD float round_to_tf32(float x) { return bits_float(tf32_round_bits(float_bits(x))); }
FRCNN_HD float round_to_bf16(float x) { return bf16_bits_float(bf16_round_bits(float_bits(x))); }

}  // namespace frcnn::ptx
