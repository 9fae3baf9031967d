// The sampling rule shared by anchor_targets and proposal_targets (FRCNN_HD), identical
// on both devices: every candidate i gets the key u_i = philox(seed, stream, i) (24 bits,
// the same value philox_uniform() scales to [0, 1)); within each group (foreground,
// background) the candidates with the smallest keys are kept, ties broken by the lower
// index. Both devices sort the same 64-bit composite keys
//   group << 56 | u_i << 32 | i         (group 0 fg, 1 bg, 2 not a candidate)
// ascending, so foreground candidates come first in key order, then background ones, and
// the rank of a candidate within its group is its sorted position minus the group's start.
#pragma once
#include <cstdint>

#include "engine/host_device.h"
#include "engine/philox.h"

namespace frcnn {

enum : uint32_t { kSampleFg = 0, kSampleBg = 1, kSampleNone = 2 };

FRCNN_HD uint64_t sample_key(uint32_t group, uint64_t seed, uint64_t stream, uint32_t index) {
  const uint64_t u = philox_u32(seed, stream, index) >> 8;  // 24 bits
  return (static_cast<uint64_t>(group) << 56) | (u << 32) | index;
}
FRCNN_HD uint32_t sample_group(uint64_t key) { return static_cast<uint32_t>(key >> 56); }
FRCNN_HD uint32_t sample_index(uint64_t key) { return static_cast<uint32_t>(key & 0xffffffffu); }

}  // namespace frcnn
