// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11):
// a counter-based generator. The numbers are a pure function of (key, counter), so
// the CPU and CUDA paths draw identical values for the same (seed, stream, index)
// without sharing state, and a run is reproducible bit for bit.
//
// Convention used across the engine (see rng.h):
//   key     = seed (64 bits)
//   counter = (index lo, index hi, stream lo, stream hi)
//   value i of stream s = philox(key = seed, counter = (i, s)).x
// `stream` separates independent uses (anchor sampling of image k at step t, dropout of
// layer l at step t, ...); see rng.h for how streams are derived.
#pragma once
#include <cstdint>

#include "engine/host_device.h"

namespace frcnn {

struct Philox4 {
  uint32_t v[4];
};

FRCNN_HD void philox_mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

// Ten rounds of Philox4x32 on counter `c` with key (k0, k1).
FRCNN_HD Philox4 philox4x32_10(Philox4 c, uint32_t k0, uint32_t k1) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  constexpr uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(M0, c.v[0], hi0, lo0);
    philox_mulhilo(M1, c.v[2], hi1, lo1);
    Philox4 n;
    n.v[0] = hi1 ^ c.v[1] ^ k0;
    n.v[1] = lo1;
    n.v[2] = hi0 ^ c.v[3] ^ k1;
    n.v[3] = lo0;
    c = n;
    k0 += W0;
    k1 += W1;
  }
  return c;
}

// The index-th 32-bit value of stream `stream` under `seed`.
FRCNN_HD uint32_t philox_u32(uint64_t seed, uint64_t stream, uint64_t index) {
  Philox4 c;
  c.v[0] = static_cast<uint32_t>(index);
  c.v[1] = static_cast<uint32_t>(index >> 32);
  c.v[2] = static_cast<uint32_t>(stream);
  c.v[3] = static_cast<uint32_t>(stream >> 32);
  return philox4x32_10(c, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)).v[0];
}

// Uniform in [0, 1) with 24 random bits: exact in float on both devices.
FRCNN_HD float philox_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
  return static_cast<float>(philox_u32(seed, stream, index) >> 8) * (1.0f / 16777216.0f);
}

}  // namespace frcnn
