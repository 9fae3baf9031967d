// Bit-for-bit comparison of two DetectResults (the detect-plan and detect-batch tests).
#pragma once
#include <catch2/catch.hpp>
#include <cstring>

#include "layers/faster_rcnn.h"

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

}  // namespace frcnn::test
