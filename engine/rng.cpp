#include "engine/rng.h"

#if FRCNN_WITH_CUDA
#include "engine/rng_cuda.h"
#endif

namespace frcnn {

RngKey CounterRng::key(RngPurpose purpose, uint32_t a, uint32_t b) const {
  // stream = hash of (purpose, a, b, step): each field mixed so nearby ids differ in
  // every bit; collisions would need a 64-bit coincidence.
  auto mix = [](uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
  };
  uint64_t h = mix(static_cast<uint64_t>(purpose) + 0x9E3779B97F4A7C15ULL);
  h = mix(h ^ (static_cast<uint64_t>(a) << 32 | b));
  h = mix(h ^ step_);
  return RngKey{seed_, h};
}

void fill_uniform(Tensor& t, RngKey key, Stream stream) {
  t.check_dtype(DType::F32, "fill_uniform");
  if (t.is_cuda()) {
#if FRCNN_WITH_CUDA
    fill_uniform_cuda(t.data<float>(), t.numel(), key, stream);
    return;
#endif
  }
  float* d = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = key.uniform(static_cast<uint64_t>(i));
}

}  // namespace frcnn
