// The CPU NMS and RoI-pool forward are tuned loops (kernels/nms_cpu.cpp: compacted
// candidates, a vectorised IoU pass; kernels/roi_pool_cpu.cpp: channel blocks
// channels-last). These tests hold them to the textbook loops they replaced, kept here
// verbatim, bit for bit, on random inputs rich in what the rules single out: ties, empty
// and degenerate boxes, +-0, +-inf, NaN, thresholds below 0 and at 0 and 1, class labels,
// caps, empty bins and bad batch indices.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <numeric>

#include "kernels/box_math.h"
#include "kernels/nms.h"
#include "kernels/nms_impl.h"
#include "kernels/roi_pool.h"
#include "kernels/roi_pool_math.h"
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

int roi_batch_ref(float b, int N) {
  const int n = static_cast<int>(b);
  return (static_cast<float>(n) == b && n >= 0 && n < N) ? n : -1;
}

// The textbook RoI max-pool forward: per (r, c, ph, pw), scan the bin row-major, strict >.
void textbook_roi_pool(const float* features, int N, int C, int H, int W, const float* rois, int R, int PH, int PW,
                       float scale, float* out, int32_t* argmax) {
  for (int r = 0; r < R; ++r) {
    const float* roi = rois + 5 * r;
    const int n = roi_batch_ref(roi[0], N);
    const RoiWindow win = roi_window(roi + 1, scale);
    for (int c = 0; c < C; ++c) {
      const float* plane = features + (int64_t(n < 0 ? 0 : n) * C + c) * H * W;
      for (int ph = 0; ph < PH; ++ph) {
        int h0, h1;
        roi_bin(ph, PH, win.start_h, win.size_h, H, &h0, &h1);
        for (int pw = 0; pw < PW; ++pw) {
          int w0, w1;
          roi_bin(pw, PW, win.start_w, win.size_w, W, &w0, &w1);
          const bool empty = n < 0 || h1 <= h0 || w1 <= w0;
          float best = empty ? 0.f : -FLT_MAX;
          int32_t arg = -1;
          if (!empty)
            for (int h = h0; h < h1; ++h)
              for (int w = w0; w < w1; ++w)
                if (plane[h * W + w] > best) {
                  best = plane[h * W + w];
                  arg = h * W + w;
                }
          const int64_t o = ((int64_t(r) * C + c) * PH + ph) * PW + pw;
          out[o] = best;
          argmax[o] = arg;
        }
      }
    }
  }
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

TEST_CASE("roi_pool: the CPU forward is the textbook scan, bit for bit", "[roi_pool]") {
  Context ctx;
  std::mt19937 gen(7);
  const float values[] = {NAN, -NAN, INFINITY, -INFINITY, FLT_MAX, -FLT_MAX, 0.f, -0.f, 1.f};
  for (int t = 0; t < 600; ++t) {
    // C from 1 to 40: whole and partial channel blocks
    const int N = 1 + int(gen() % 3), C = 1 + int(gen() % 40), H = 1 + int(gen() % 12), W = 1 + int(gen() % 12);
    const int R = int(gen() % 10), PH = 1 + int(gen() % 8), PW = 1 + int(gen() % 8);
    const float scale = gen() % 2 ? 1.f : (gen() % 2 ? 0.5f : 1.f / 16);
    const int mode = t % 3;  // few distinct values (ties); specials; uniform
    std::vector<float> f(size_t(N) * C * H * W);
    for (auto& v : f)
      v = mode == 0   ? float(gen() % 4)
          : mode == 1 ? values[gen() % 9]
                      : std::uniform_real_distribution<float>(-1.f, 1.f)(gen);
    std::vector<float> rois(size_t(R) * 5);
    const float sw = W / scale, sh = H / scale;
    for (int r = 0; r < R; ++r) {
      float bi = float(gen() % N);
      if (gen() % 8 == 0) bi = gen() % 3 == 0 ? NAN : (gen() % 2 ? 0.5f : float(N));  // bad batch index
      const float x = std::uniform_real_distribution<float>(-0.3f * sw, 1.1f * sw)(gen);
      const float y = std::uniform_real_distribution<float>(-0.3f * sh, 1.1f * sh)(gen);
      const float w = std::uniform_real_distribution<float>(-2.f, 1.2f * sw)(gen);  // some inverted
      const float h = std::uniform_real_distribution<float>(-2.f, 1.2f * sh)(gen);
      rois[5 * r] = bi;
      rois[5 * r + 1] = x;
      rois[5 * r + 2] = y;
      rois[5 * r + 3] = x + w;
      rois[5 * r + 4] = y + h;
    }
    const size_t o = size_t(R) * C * PH * PW;
    std::vector<float> ref(o);
    std::vector<int32_t> ref_arg(o);
    textbook_roi_pool(f.data(), N, C, H, W, rois.data(), R, PH, PW, scale, ref.data(), ref_arg.data());
    RoiPoolResult got = roi_pool_forward(ctx, Tensor::from_vector<float>({N, C, H, W}, f),
                                         Tensor::from_vector<float>({R, 5}, rois), PH, PW, scale);
    const std::vector<float> out = vec<float>(got.output);
    INFO("trial " << t << " N " << N << " C " << C << " H " << H << " W " << W << " R " << R);
    REQUIRE(out.size() == o);
    REQUIRE((o == 0 || std::memcmp(out.data(), ref.data(), o * sizeof(float)) == 0));  // bits: -0 is not +0
    REQUIRE(vec<int32_t>(got.argmax) == ref_arg);
  }
}
