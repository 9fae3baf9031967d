// Host-side handle on the counter-based generator (philox.h).
//
// CounterRng holds a seed and a step counter; it is the whole RNG state of a training
// run (saved in checkpoints, so a resumed run draws the same numbers). Each consumer
// derives its own stream id with stream_for(purpose, a, b), so that e.g. the anchor
// sampling of image 3 at step 10 is independent of the dropout mask of fc6 at step 10,
// and the same on both devices. Kernels receive (seed, stream) and index by element.
#pragma once
#include <cstdint>

#include "engine/philox.h"
#include "engine/tensor.h"

namespace frcnn {

// Purposes: distinct top bits of the stream id.
enum class RngPurpose : uint32_t {
  Test = 0,
  AnchorSampling = 1,
  RoiSampling = 2,
  Dropout = 3,
  Shuffle = 4,
  Flip = 5,
  Init = 6,
};

struct RngKey {
  uint64_t seed = 0;
  uint64_t stream = 0;
  float uniform(uint64_t index) const { return philox_uniform(seed, stream, index); }
  uint32_t u32(uint64_t index) const { return philox_u32(seed, stream, index); }
};

class CounterRng {
 public:
  explicit CounterRng(uint64_t seed = 0, uint64_t step = 0) : seed_(seed), step_(step) {}
  uint64_t seed() const { return seed_; }
  uint64_t step() const { return step_; }
  void set_step(uint64_t s) { step_ = s; }
  void advance() { ++step_; }

  // Stream for (purpose, a, b) at the current step: e.g. (Dropout, layer id, 0).
  RngKey key(RngPurpose purpose, uint32_t a = 0, uint32_t b = 0) const;

 private:
  uint64_t seed_;
  uint64_t step_;
};

// Fills a F32 tensor (CPU or CUDA) with philox_uniform(key.seed, key.stream, i), i the
// flat element index: the same values on both devices.
void fill_uniform(Tensor& t, RngKey key, Stream stream = {});

}  // namespace frcnn
