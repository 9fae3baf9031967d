// Helpers shared by the tests: temp folders, seeded random tensors, closeness checks.
#pragma once
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <unistd.h>
#include <random>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace frcnn::test {

// A fresh empty folder under the build tree's tmp/, named after `tag`.
inline std::filesystem::path temp_dir(const std::string& tag) {
  static int counter = 0;
  auto p = std::filesystem::path(FRCNN_BINARY_DIR) / "tmp" /
           (tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

// CPU F32 tensor, uniform in [lo, hi) from a seeded mt19937 (never zeros by accident).
// A file's bytes ("" when it cannot be read), for byte-for-byte comparisons.
inline std::string slurp_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline Tensor random_tensor(const Shape& shape, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  for (auto& x : v) x = dist(gen);
  return Tensor::from_vector<float>(shape, v);
}

// Every |a - b| <= atol + rtol * |b| (b is the reference). Reports the worst element.
inline void require_close(const std::vector<float>& a, const std::vector<float>& b, double atol, double rtol,
                          const std::string& what = "") {
  REQUIRE(a.size() == b.size());
  size_t worst = 0;
  double worst_excess = -1e300;
  for (size_t i = 0; i < a.size(); ++i) {
    double err = std::fabs(double(a[i]) - double(b[i]));
    double tol = atol + rtol * std::fabs(double(b[i]));
    if (!(std::isfinite(a[i]) == std::isfinite(b[i]))) {
      worst = i;
      worst_excess = 1e300;
      break;
    }
    if (err - tol > worst_excess) {
      worst_excess = err - tol;
      worst = i;
    }
  }
  INFO(what << ": worst element " << worst << " got " << (a.empty() ? 0.f : a[worst]) << " expected "
            << (b.empty() ? 0.f : b[worst]));
  REQUIRE(worst_excess <= 0.0);
}

inline void require_close(const Tensor& a, const Tensor& b, double atol, double rtol, const std::string& what = "") {
  REQUIRE(a.shape() == b.shape());
  require_close(a.to_vector<float>(), b.to_vector<float>(), atol, rtol, what);
}

// Two devices' detections (boxes (D, 4), scores (D), labels (D)) are the same set:
// one to one, every detection of `a` has an unused detection of `b` with the same label,
// a score within score_tol and every box coordinate within box_atol + box_rtol * |a's|.
// Their order may differ where scores are equal to within rounding (the devices sum in
// different orders, so a saturated softmax can give 1 on one and 1 - 2^-24 on the other).
// Returns the number of detections matched.
// How many detections of `a` have an unused match in `b` (the rule above; with
// `require_all`, every one must, and the counts must be equal).
inline size_t match_detections(const Tensor& boxes_a, const Tensor& scores_a, const Tensor& labels_a,
                               const Tensor& boxes_b, const Tensor& scores_b, const Tensor& labels_b, float score_tol,
                               float box_atol, float box_rtol, bool require_all, const std::string& what = "") {
  const auto sa = scores_a.to_vector<float>(), sb = scores_b.to_vector<float>();
  const auto la = labels_a.to_vector<int32_t>(), lb = labels_b.to_vector<int32_t>();
  const auto ba = boxes_a.to_vector<float>(), bb = boxes_b.to_vector<float>();
  INFO(what);
  if (require_all) REQUIRE(sa.size() == sb.size());
  std::vector<bool> used(sb.size(), false);
  size_t matched = 0;
  for (size_t i = 0; i < sa.size(); ++i) {
    bool found = false;
    for (size_t j = 0; j < sb.size() && !found; ++j) {
      if (used[j] || lb[j] != la[i] || std::fabs(sb[j] - sa[i]) > score_tol) continue;
      bool close = true;
      for (int c = 0; c < 4; ++c)
        close = close && std::fabs(bb[4 * j + c] - ba[4 * i + c]) <= box_atol + box_rtol * std::fabs(ba[4 * i + c]);
      if (close) used[j] = found = true;
    }
    INFO("detection " << i << " label " << la[i] << " score " << sa[i] << " box (" << ba[4 * i] << ", "
                      << ba[4 * i + 1] << ", " << ba[4 * i + 2] << ", " << ba[4 * i + 3] << ")");
    if (require_all) REQUIRE(found);
    matched += found;
  }
  return matched;
}

inline size_t require_same_detections(const Tensor& boxes_a, const Tensor& scores_a, const Tensor& labels_a,
                                      const Tensor& boxes_b, const Tensor& scores_b, const Tensor& labels_b,
                                      float score_tol, float box_atol, float box_rtol, const std::string& what = "") {
  return match_detections(boxes_a, scores_a, labels_a, boxes_b, scores_b, labels_b, score_tol, box_atol, box_rtol,
                          true, what);
}

}  // namespace frcnn::test
