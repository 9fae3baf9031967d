// The order in which scored boxes are visited (NMS, the proposal layer), one rule on
// both devices: descending score, -0.0 equal to +0.0, a NaN score below every number
// (-inf included), ties (NaNs among themselves too) by the lower index first.
//
// The CPU sorts with score_before() (a strict weak order, which `a > b` is not once a
// NaN appears); the CUDA path radix-sorts score_sort_key() descending, stably. CUB's
// radix order is the order of the float bits after its sign "twiddle", in which every
// negative NaN lies below -inf; the keys below pick two of those patterns so that a
// NaN score sorts after -inf, and a box the proposal filter dropped after everything.
#pragma once
#include <cstdint>
#include <cstring>

#include "engine/host_device.h"

namespace frcnn {

// true when a score of `a` is visited before a score of `b` (their indices tie-break).
inline bool score_before(float a, float b) {
  if (b != b) return a == a;  // a number before a NaN; two NaNs tie
  return a > b;               // false when a is NaN
}

FRCNN_HD float float_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

constexpr uint32_t kNanScoreKeyBits = 0xFFC00000u;  // twiddled: 0x003FFFFF, below -inf (0x007FFFFF)
constexpr uint32_t kDroppedKeyBits = 0xFFFFFFFFu;   // twiddled: 0, below everything

// The radix-sort key of a score: +0.0 for -0.0 (equal on the CPU too), one NaN pattern
// below -inf for every NaN.
FRCNN_HD float score_sort_key(float s) { return s != s ? float_from_bits(kNanScoreKeyBits) : s + 0.0f; }

// The key of a box the proposal layer filtered out: after every kept box, NaNs included.
FRCNN_HD float dropped_sort_key() { return float_from_bits(kDroppedKeyBits); }

}  // namespace frcnn
