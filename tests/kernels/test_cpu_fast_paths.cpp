// The CPU NMS is a tuned loop (kernels/nms_cpu.cpp: compacted candidates, a vectorised
// IoU pass). These tests hold it to the textbook loop it replaced, kept here verbatim, on
// random inputs rich in what the rules single out: ties, empty and degenerate boxes, +-0,
// +-inf, NaN, thresholds below 0 and at 0 and 1, class labels, caps.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numeric>

#include "kernels/box_math.h"
#include "kernels/nms.h"
#include "kernels/nms_impl.h"
#include "kernels/score_order.h"
#include "tests/kernels/kernel_test_util.h"

using namespace frcnn;
using namespace frcnn::test;

namespace {

// The textbook NMS: stable sort by score_before(), then the greedy loop with box_iou().
// boxes: (n, 4), scores: (n), classes: (n) or nullptr -> kept indices, visiting order
std::vector<int32_t> textbook_nms(const std::vector<float>& boxes, const std::vector<float>& scores,
                                  const int32_t* classes, double iou_thresh) {
  const int64_t n = static_cast<int64_t>(scores.size());
  std::vector<int32_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return score_before(scores[a], scores[b]); });
  const float thresh = nms_float_threshold(iou_thresh);
  std::vector<int32_t> keep;
  std::vector<char> suppressed(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    if (suppressed[i]) continue;
    const int32_t a = order[i];
    keep.push_back(a);
    for (int64_t j = i + 1; j < n; ++j) {
      const int32_t b = order[j];
      if (suppressed[j] || (classes && classes[b] != classes[a])) continue;
      if (box_iou(&boxes[4 * a], &boxes[4 * b]) > thresh) suppressed[j] = 1;
    }
  }
  return keep;
}

const float kSpecials[] = {0.f, -0.f, INFINITY, -INFINITY, FLT_MAX, -FLT_MAX, 1.f, 2.f, 1e30f, -1e30f, NAN};

}  // namespace

TEST_CASE("nms: the CPU path keeps what the textbook loop keeps, on awkward boxes", "[nms]") {
  Context ctx;
  std::mt19937 gen(14);
  const double threshes[] = {0.0, 0.3, 0.5, 0.7, 1.0, -1.0, 1.0 / 3, INFINITY, -INFINITY};
  for (int t = 0; t < 3000; ++t) {
    const int n = (t % 10 == 0) ? int(gen() % 300) : int(gen() % 40);
    const int mode = t % 4;  // small integers; overlapping reals; specials with NaN; specials without
    std::vector<float> b(static_cast<size_t>(4 * n)), s(static_cast<size_t>(n));
    std::uniform_real_distribution<float> u(0.f, 10.f);
    for (auto& v : b) {
      if (mode == 0) v = float(gen() % 8);
      if (mode == 1) v = u(gen);
      if (mode == 2) v = gen() % 5 == 0 ? kSpecials[gen() % 11] : float(gen() % 6);
      if (mode == 3) v = gen() % 7 == 0 ? kSpecials[gen() % 10] : u(gen);
    }
    if (mode == 1)  // mostly proper boxes: x2 >= x1 - 5
      for (int i = 0; i < n; ++i) {
        b[4 * i + 2] += b[4 * i] - 5.f;
        b[4 * i + 3] += b[4 * i + 1] - 5.f;
      }
    for (auto& v : s) v = gen() % 6 == 0 ? kSpecials[gen() % 11] : float(gen() % 5);  // many ties
    std::vector<int32_t> cls(static_cast<size_t>(n));
    for (auto& v : cls) v = int32_t(gen() % 3);
    const double th = threshes[gen() % 9];
    Tensor tb = Tensor::from_vector<float>({n, 4}, b), ts = Tensor::from_vector<float>({n}, s);
    INFO("trial " << t << " n " << n << " mode " << mode << " thresh " << th);
    REQUIRE(vec<int32_t>(nms(ctx, tb, ts, th)) == textbook_nms(b, s, nullptr, th));
    REQUIRE(vec<int32_t>(batched_nms(ctx, tb, ts, Tensor::from_vector<int32_t>({n}, cls), th)) ==
            textbook_nms(b, s, cls.data(), th));
    // a cap (detect_per_class's max_per_image) keeps the uncapped list's first boxes;
    // equal scores make the visiting order the index order
    const int64_t cap = 1 + int64_t(gen() % 10);
    std::vector<int32_t> capped = textbook_nms(b, std::vector<float>(size_t(n), 0.f), cls.data(), th);
    if (int64_t(capped.size()) > cap) capped.resize(size_t(cap));
    REQUIRE(nms_detail::nms_sorted_cpu(b.data(), cls.data(), n, th, cap) == capped);
  }
}

TEST_CASE("nms: the CPU path keeps what the textbook loop keeps, at proposal sizes", "[nms]") {
  Context ctx;
  for (int n : {1000, 6000}) {
    Tensor tb = random_boxes(n, uint32_t(n), 1000.f, 600.f, 16.f, 400.f), ts = distinct_scores(n, uint32_t(n + 1));
    const std::vector<float> b = vec<float>(tb), s = vec<float>(ts);
    for (double th : {0.3, 0.7}) REQUIRE(vec<int32_t>(nms(ctx, tb, ts, th)) == textbook_nms(b, s, nullptr, th));
  }
}
