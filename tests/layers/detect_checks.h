// Checks the detect-plan and detect-batch tests share: two DetectResults bit for bit, and
// what a warm detect() / detect_batch() call may cost the device.
#pragma once
#include <catch2/catch.hpp>
#include <cstring>

#include "engine/allocator.h"
#include "layers/faster_rcnn.h"
#if FRCNN_CUDA_EMULATION
#include "emu/counters.h"
#endif

namespace frcnn::test {

inline bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

// Same proposal count and the same boxes, scores and labels, bit for bit.
inline void require_identical(const DetectResult& a, const DetectResult& b) {
  REQUIRE(a.num_proposals == b.num_proposals);
  REQUIRE(same_bits(a.boxes, b.boxes));
  REQUIRE(same_bits(a.scores, b.scores));
  REQUIRE(same_bits(a.labels, b.labels));
}

// One warm call (`call()` returns a DetectResult or BatchDetectResult) and what every warm
// call must do: run as a graph exactly when `graphs`, allocate no device memory (counted on
// a real GPU too) and, on the emulated device, wait for it once and copy one thing in (the
// scales). The emulated runtime's counters come back for the caller's own checks.
template <class Result>
struct WarmCall {
  Result result;
#if FRCNN_CUDA_EMULATION
  emu::Counters counters;
#endif
};
template <class F>
auto warm_call(F&& call, bool graphs) {
  const size_t raw_before = cuda_allocator_stats().raw_allocs;
#if FRCNN_CUDA_EMULATION
  emu::reset_counters();
#endif
  WarmCall<decltype(call())> w;
  w.result = call();
  REQUIRE(w.result.timing.graph == graphs);
  REQUIRE(cuda_allocator_stats().raw_allocs == raw_before);
#if FRCNN_CUDA_EMULATION
  w.counters = emu::counters();
  REQUIRE(w.counters.host_waits == 1);  // the one sync at the end
  REQUIRE(w.counters.device_allocs == 0);
  REQUIRE(w.counters.copies_h2d == 1);  // the scales
  REQUIRE(w.counters.graph_launches == (graphs ? 1 : 0));
#endif
  return w;
}

}  // namespace frcnn::test
