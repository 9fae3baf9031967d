#include <cmath>
#include <limits>
#include <set>

#include "kernels/box_ops.h"
#include "kernels/nms.h"
#include "tests/gpu.h"
#include "tests/kernels/kernel_test_util.h"

using namespace frcnn;
using namespace frcnn::test;

TEST_CASE("nms: greedy keeps in score order and suppresses above the threshold", "[nms]") {
  Context ctx;
  // box 1 overlaps box 0 with IoU 0.81, box 2 is apart, box 3 overlaps box 2 with IoU 1/3
  Tensor b = Tensor::from_vector<float>({4, 4}, {0, 0, 10, 10, 0, 0, 9, 9, 50, 50, 60, 60, 55, 50, 65, 60});
  Tensor s = Tensor::from_vector<float>({4}, {0.9f, 0.8f, 0.7f, 0.95f});
  REQUIRE(vec<int32_t>(nms(ctx, b, s, 0.5f)) == std::vector<int32_t>{3, 0, 2});
  REQUIRE(vec<int32_t>(nms(ctx, b, s, 0.3f)) == std::vector<int32_t>{3, 0});
  REQUIRE(vec<int32_t>(nms(ctx, b, s, 0.9f)) == std::vector<int32_t>{3, 0, 1, 2});
}

TEST_CASE("nms: IoU equal to the threshold does not suppress", "[nms]") {
  Context ctx;
  // IoU exactly 0.5 (areas 2 and 1, intersection 1)
  Tensor b = Tensor::from_vector<float>({2, 4}, {0, 0, 2, 1, 0, 0, 1, 1});
  Tensor s = Tensor::from_vector<float>({2}, {0.9f, 0.8f});
  REQUIRE(vec<int32_t>(nms(ctx, b, s, 0.5f)).size() == 2);
  REQUIRE(vec<int32_t>(nms(ctx, b, s, 0.49f)).size() == 1);
}

// The threshold is a double compared with the float IoU as torchvision's CPU kernel does
// (double(iou) > t). Box 1 lies inside box 0: IoU 30/100 = 0.3f, 70/100 = 0.7f exactly.
static Tensor nested_boxes(float h) { return Tensor::from_vector<float>({2, 4}, {0, 0, 10, 10, 0, 0, 10, h}); }

TEST_CASE("nms: a float IoU on the threshold is compared with the double threshold", "[nms]") {
  Context ctx;
  Tensor s = Tensor::from_vector<float>({2}, {0.9f, 0.8f});
  // 0.3f = 0.300000011920928955078125 > 0.3 (double): suppressed at 0.3, kept at the float 0.3f
  REQUIRE(vec<int32_t>(nms(ctx, nested_boxes(3), s, 0.3)) == std::vector<int32_t>{0});
  REQUIRE(vec<int32_t>(nms(ctx, nested_boxes(3), s, 0.3f)) == std::vector<int32_t>{0, 1});
  // 0.7f = 0.699999988079071044921875 < 0.7: kept at 0.7 and at 0.7f
  REQUIRE(vec<int32_t>(nms(ctx, nested_boxes(7), s, 0.7)) == std::vector<int32_t>{0, 1});
  REQUIRE(vec<int32_t>(nms(ctx, nested_boxes(7), s, 0.7f)) == std::vector<int32_t>{0, 1});
  REQUIRE(vec<int32_t>(nms(ctx, nested_boxes(7), s, std::nextafter(0.7f, 0.f))) == std::vector<int32_t>{0});
  // batched NMS and the final detections follow the same rule
  Tensor c = Tensor::from_vector<int32_t>({2}, {1, 1});
  REQUIRE(vec<int32_t>(batched_nms(ctx, nested_boxes(3), s, c, 0.3)) == std::vector<int32_t>{0});
  REQUIRE(vec<int32_t>(batched_nms(ctx, nested_boxes(3), s, c, 0.3f)) == std::vector<int32_t>{0, 1});
  Tensor rb = Tensor::from_vector<float>({2, 8}, {0, 0, 0, 0, 0, 0, 10, 10, 0, 0, 0, 0, 0, 0, 10, 3});
  Tensor rp = Tensor::from_vector<float>({2, 2}, {0.1f, 0.9f, 0.2f, 0.8f});
  REQUIRE(detect_per_class(ctx, rb, rp).scores.numel() == 1);  // DetectConfig::nms_thresh = 0.3
  DetectConfig f;
  f.nms_thresh = 0.3f;
  REQUIRE(detect_per_class(ctx, rb, rp, f).scores.numel() == 2);
}

TEST_CASE("nms: nms_float_threshold is the largest float not above the threshold", "[nms]") {
  REQUIRE(nms_float_threshold(0.3) == std::nextafter(0.3f, 0.f));
  REQUIRE(nms_float_threshold(0.3f) == 0.3f);
  REQUIRE(nms_float_threshold(0.7) == 0.7f);
  REQUIRE(nms_float_threshold(0.5) == 0.5f);
  REQUIRE(nms_float_threshold(0.0) == 0.f);
  REQUIRE(nms_float_threshold(-1e-300) == -std::numeric_limits<float>::denorm_min());
  REQUIRE(nms_float_threshold(1e300) == std::numeric_limits<float>::max());
  REQUIRE(nms_float_threshold(-1e300) == -INFINITY);
  REQUIRE(nms_float_threshold(INFINITY) == INFINITY);
  // v > nms_float_threshold(t) exactly when double(v) > t, on floats around t
  for (double t : {0.3, 0.7, 0.45, 0.6, 1.0 / 3.0}) {
    const float f = nms_float_threshold(t);
    float v = std::nextafter(std::nextafter(f, 0.f), 0.f);
    for (int i = 0; i < 5; ++i, v = std::nextafter(v, 2.f)) REQUIRE((v > f) == (double(v) > t));
  }
}

TEST_CASE("nms: equal scores are visited lower index first", "[nms]") {
  Context ctx;
  Tensor b = Tensor::from_vector<float>({3, 4}, {0, 0, 10, 10, 0, 0, 10, 10, 0, 0, 10, 10});
  Tensor s = Tensor::from_vector<float>({3}, {0.5f, 0.5f, 0.5f});
  REQUIRE(vec<int32_t>(nms(ctx, b, s, 0.5f)) == std::vector<int32_t>{0});
  Tensor far = Tensor::from_vector<float>({3, 4}, {0, 0, 1, 1, 10, 10, 11, 11, 20, 20, 21, 21});
  Tensor s2 = Tensor::from_vector<float>({3}, {0.5f, 0.7f, 0.5f});
  REQUIRE(vec<int32_t>(nms(ctx, far, s2, 0.5f)) == std::vector<int32_t>{1, 0, 2});
}

// Disjoint boxes (nothing suppressed): the keep list is the visiting order.
static Tensor disjoint_boxes(int n) {
  std::vector<float> v;
  for (int i = 0; i < n; ++i) v.insert(v.end(), {20.f * i, 0.f, 20.f * i + 10.f, 10.f});
  return Tensor::from_vector<float>({n, 4}, v);
}

TEST_CASE("nms: NaN scores are visited after every number, -inf included, in index order", "[nms]") {
  Context ctx;
  const float nan = std::nanf("");
  Tensor s = Tensor::from_vector<float>({6}, {nan, 0.5f, -INFINITY, -nan, 0.9f, -0.f});
  REQUIRE(vec<int32_t>(nms(ctx, disjoint_boxes(6), s, 0.5f)) == std::vector<int32_t>{4, 1, 5, 2, 0, 3});
  // a NaN box is suppressed by an overlapping kept box like any other, and suppresses later NaN boxes
  Tensor same = Tensor::from_vector<float>({3, 4}, {0, 0, 10, 10, 0, 0, 10, 10, 0, 0, 10, 10});
  REQUIRE(vec<int32_t>(nms(ctx, same, Tensor::from_vector<float>({3}, {nan, nan, 0.1f}), 0.5f)) ==
          std::vector<int32_t>{2});
  REQUIRE(vec<int32_t>(nms(ctx, same, Tensor::from_vector<float>({3}, {nan, nan, nan}), 0.5f)) ==
          std::vector<int32_t>{0});
}

TEST_CASE("nms: empty and degenerate inputs", "[nms]") {
  Context ctx;
  REQUIRE(nms(ctx, Tensor::empty({0, 4}), Tensor::empty({0}), 0.7f).numel() == 0);
  // zero-area boxes never suppress each other (IoU 0)
  Tensor b = Tensor::from_vector<float>({2, 4}, {5, 5, 5, 5, 5, 5, 5, 5});
  Tensor s = Tensor::from_vector<float>({2}, {0.1f, 0.2f});
  REQUIRE(vec<int32_t>(nms(ctx, b, s, 0.0f)) == std::vector<int32_t>{1, 0});
  REQUIRE_THROWS_WITH(nms(ctx, b, Tensor::empty({3}), 0.5f), Catch::Contains("nms: scores"));
}

TEST_CASE("nms: no kept pair overlaps and every dropped box has a kept suppressor", "[nms]") {
  Context ctx;
  Tensor b = random_boxes(2000, 5), s = distinct_scores(2000, 6);
  auto keep = vec<int32_t>(nms(ctx, b, s, 0.5f));
  auto iou = vec<float>(box_iou(ctx, b, b));
  auto sc = vec<float>(s);
  std::set<int32_t> kept(keep.begin(), keep.end());
  for (size_t i = 1; i < keep.size(); ++i) REQUIRE(sc[keep[i - 1]] > sc[keep[i]]);
  for (int32_t i : keep)
    for (int32_t j : keep)
      if (i != j) REQUIRE(iou[i * 2000 + j] <= 0.5f);
  for (int32_t j = 0; j < 2000; ++j) {
    if (kept.count(j)) continue;
    bool found = false;
    for (int32_t i : keep) found |= sc[i] > sc[j] && iou[i * 2000 + j] > 0.5f;
    REQUIRE(found);
  }
}

TEST_CASE("nms: batched NMS only suppresses within a class", "[nms]") {
  Context ctx;
  Tensor b = Tensor::from_vector<float>({3, 4}, {0, 0, 10, 10, 0, 0, 10, 10, 1, 0, 10, 10});
  Tensor s = Tensor::from_vector<float>({3}, {0.9f, 0.8f, 0.7f});
  Tensor c = Tensor::from_vector<int32_t>({3}, {1, 2, 1});
  REQUIRE(vec<int32_t>(batched_nms(ctx, b, s, c, 0.5f)) == std::vector<int32_t>{0, 1});
  // equals per-class nms merged by score
  Tensor rb = random_boxes(600, 7), rs = distinct_scores(600, 8);
  std::vector<int32_t> cls(600);
  for (int i = 0; i < 600; ++i) cls[i] = i % 3;
  auto bk = vec<int32_t>(batched_nms(ctx, rb, rs, Tensor::from_vector<int32_t>({600}, cls), 0.4f));
  std::set<int32_t> merged;
  for (int k = 0; k < 3; ++k) {
    std::vector<int32_t> idx;
    for (int i = k; i < 600; i += 3) idx.push_back(i);
    std::vector<float> sb, ss;
    for (int i : idx) {
      for (int j = 0; j < 4; ++j) sb.push_back(rb.data<float>()[4 * i + j]);
      ss.push_back(rs.data<float>()[i]);
    }
    int64_t n = static_cast<int64_t>(idx.size());
    for (int32_t p : vec<int32_t>(nms(ctx, Tensor::from_vector<float>({n, 4}, sb), Tensor::from_vector<float>({n}, ss), 0.4f)))
      merged.insert(idx[p]);
  }
  REQUIRE(std::set<int32_t>(bk.begin(), bk.end()) == merged);
  REQUIRE(bk.size() == merged.size());
}

TEST_CASE("nms: detect_per_class thresholds suppresses per class and caps", "[nms]") {
  Context ctx;
  // 3 RoIs, K = 2 classes (+ background)
  std::vector<float> boxes = {
      0, 0, 1, 1, 0, 0, 10, 10, 100, 100, 110, 110,   // roi 0: bg, class 1, class 2
      0, 0, 1, 1, 0, 0, 10, 9, 100, 100, 110, 110,    // roi 1
      0, 0, 1, 1, 50, 50, 60, 60, 200, 200, 210, 210  // roi 2
  };
  std::vector<float> probs = {0.1f, 0.6f, 0.3f, 0.05f, 0.5f, 0.45f, 0.9f, 0.04f, 0.06f};
  Tensor tb = Tensor::from_vector<float>({3, 12}, boxes), tp = Tensor::from_vector<float>({3, 3}, probs);
  Detections d = detect_per_class(ctx, tb, tp);
  // candidates: (0,1) .6, (0,2) .3, (1,1) .5, (1,2) .45, (2,2) .06; (1,1) is suppressed by (0,1) and
  // (0,2) by (1,2)
  REQUIRE(vec<int32_t>(d.labels) == std::vector<int32_t>{1, 2, 2});
  REQUIRE(vec<float>(d.scores) == std::vector<float>{0.6f, 0.45f, 0.06f});
  REQUIRE(vec<float>(d.boxes) == std::vector<float>{0, 0, 10, 10, 100, 100, 110, 110, 200, 200, 210, 210});
  DetectConfig cfg;
  cfg.max_per_image = 2;
  REQUIRE(detect_per_class(ctx, tb, tp, cfg).scores.numel() == 2);
  Detections e = detect_per_class(ctx, Tensor::empty({0, 12}), Tensor::empty({0, 3}));
  REQUIRE(e.boxes.shape() == Shape{0, 4});
  REQUIRE(e.labels.numel() == 0);
}

TEST_CASE("nms: CPU and CUDA keep the same boxes", "[nms][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context cpu, gpu(Device::cuda(0));
  for (int n : {1, 63, 64, 65, 6000, 12000}) {
    Tensor b = random_boxes(n, 100 + n), s = distinct_scores(n, 200 + n);
    // some exact score ties, to check the tie rule on both devices
    for (int i = 0; i + 1 < n; i += 7) s.data<float>()[i + 1] = s.data<float>()[i];
    Tensor gb = b.to(gpu.device(), gpu.stream()), gs = s.to(gpu.device(), gpu.stream());
    for (float t : {0.3f, 0.7f}) REQUIRE(vec<int32_t>(nms(gpu, gb, gs, t)) == vec<int32_t>(nms(cpu, b, s, t)));
    std::vector<int32_t> cls(n);
    for (int i = 0; i < n; ++i) cls[i] = (i * 7) % 5;
    Tensor c = Tensor::from_vector<int32_t>({n}, cls);
    REQUIRE(vec<int32_t>(batched_nms(gpu, gb, gs, c.to(gpu.device(), gpu.stream()), 0.5f)) ==
            vec<int32_t>(batched_nms(cpu, b, s, c, 0.5f)));
  }
  // final detections: 300 RoIs, 20 classes
  Tensor rb = random_boxes(300 * 21, 9).reshape({300, 84});
  Tensor p = random_tensor({300, 21}, 10, 0.f, 0.2f);
  Detections dc = detect_per_class(cpu, rb, p);
  Detections dg = detect_per_class(gpu, rb.to(gpu.device(), gpu.stream()), p.to(gpu.device(), gpu.stream()));
  REQUIRE(dc.scores.numel() == 100);
  REQUIRE(vec<int32_t>(dg.labels) == vec<int32_t>(dc.labels));
  REQUIRE(vec<float>(dg.scores) == vec<float>(dc.scores));
  REQUIRE(vec<float>(dg.boxes) == vec<float>(dc.boxes));
  Tensor e = nms(gpu, Tensor::empty({0, 4}, DType::F32, gpu.device()), Tensor::empty({0}, DType::F32, gpu.device()), 0.5f);
  REQUIRE(e.numel() == 0);
}

TEST_CASE("nms: CPU and CUDA decide an IoU on the threshold alike", "[nms][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context cpu, gpu(Device::cuda(0));
  Tensor s = Tensor::from_vector<float>({2}, {0.9f, 0.8f});
  for (float h : {3.f, 7.f})
    for (double t : {0.3, double(0.3f), 0.7, double(std::nextafter(0.7f, 0.f))}) {
      Tensor b = nested_boxes(h);
      REQUIRE(vec<int32_t>(nms(gpu, b.to(gpu.device(), gpu.stream()), s.to(gpu.device(), gpu.stream()), t)) ==
              vec<int32_t>(nms(cpu, b, s, t)));
    }
  REQUIRE(vec<int32_t>(nms(gpu, nested_boxes(3).to(gpu.device()), s.to(gpu.device()), 0.3)) == std::vector<int32_t>{0});
  // 64 copies of the pair (one mask block per pair of rows), every other pair at the boundary
  std::vector<float> b, sc;
  for (int i = 0; i < 64; ++i) {
    const float x = 20.f * i, h = i % 2 ? 3.f : 3.5f;
    b.insert(b.end(), {x, 0, x + 10, 10, x, 0, x + 10, h});
    sc.insert(sc.end(), {1.f - 0.01f * i, 0.5f - 0.001f * i});
  }
  Tensor tb = Tensor::from_vector<float>({128, 4}, b), ts = Tensor::from_vector<float>({128}, sc);
  for (double t : {0.3, double(0.3f)}) {
    auto kc = vec<int32_t>(nms(cpu, tb, ts, t));
    REQUIRE(vec<int32_t>(nms(gpu, tb.to(gpu.device()), ts.to(gpu.device()), t)) == kc);
    REQUIRE(kc.size() == (t == 0.3 ? 64u : 96u));
  }
}

TEST_CASE("nms: CPU and CUDA visit NaN and infinite scores in the same order", "[nms][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context cpu, gpu(Device::cuda(0));
  const float nan = std::nanf("");
  // Positive and negative NaNs, both infinities, both zeros, ties; disjoint and overlapping boxes.
  const int n = 200;
  Tensor b = random_boxes(n, 31, 300.f, 200.f, 20.f, 120.f), s = distinct_scores(n, 32);
  const float specials[] = {nan, -nan, INFINITY, -INFINITY, 0.f, -0.f};
  for (int i = 0; i < n; i += 3) s.data<float>()[i] = specials[(i / 3) % 6];
  Tensor gb = b.to(gpu.device(), gpu.stream()), gs = s.to(gpu.device(), gpu.stream());
  for (float t : {0.3f, 0.7f}) REQUIRE(vec<int32_t>(nms(gpu, gb, gs, t)) == vec<int32_t>(nms(cpu, b, s, t)));
  REQUIRE(vec<int32_t>(nms(gpu, disjoint_boxes(n).to(gpu.device()), gs, 0.5f)) ==
          vec<int32_t>(nms(cpu, disjoint_boxes(n), s, 0.5f)));
}

namespace {
// detect_per_class on the first `rows` rows, boxes scaled as the packed form scales them.
Detections expected_packed(Context& cpu, const Tensor& boxes, const Tensor& probs, int rows, float s,
                           const DetectConfig& cfg) {
  Detections d = detect_per_class(cpu, boxes.slice(0, rows).clone(), probs.slice(0, rows).clone(), cfg);
  for (int64_t i = 0; i < d.boxes.numel(); ++i) d.boxes.data<float>()[i] = scale_box_coord(d.boxes.data<float>()[i], s);
  return d;
}

// The packed form against detect_per_class on the CPU; with_gpu: the device's words too.
void check_packed_detections(bool with_gpu) {
  Context cpu;
  const int R = 300, K = 20;
  Tensor rb = random_boxes(R * (K + 1), 19).reshape({R, 4 * (K + 1)});
  Tensor p = random_tensor({R, K + 1}, 20, 0.f, 0.2f);
  for (int i = 0; i < 50; ++i) p.data<float>()[i * 7] = p.data<float>()[i * 7 + 1];  // score ties
  for (auto [rows, s, cap] : {std::tuple{300, 1.f, 100}, std::tuple{137, 0.625f, 100}, std::tuple{0, 2.f, 100},
                              std::tuple{211, 1.6f, 0}}) {
    INFO("rows " << rows << " scale " << s << " max_per_image " << cap);
    DetectConfig cfg;
    cfg.max_per_image = cap;
    const int64_t capacity = detection_capacity(R, K, cfg);
    Tensor trows = Tensor::from_vector<int32_t>({1}, {rows}), ts = Tensor::from_vector<float>({1}, {s});
    Detections want = expected_packed(cpu, rb, p, rows, s, cfg);
    Tensor words = detect_per_class_packed(cpu, rb, p, trows, ts, cfg);
    REQUIRE(words.numel() == packed_detection_words(capacity));
    int got_rows = -1;
    Detections got = unpack_detections(words.data<int32_t>(), capacity, &got_rows);
    REQUIRE(got_rows == rows);
    REQUIRE(vec<int32_t>(got.labels) == vec<int32_t>(want.labels));
    REQUIRE(vec<float>(got.scores) == vec<float>(want.scores));
    REQUIRE(vec<float>(got.boxes) == vec<float>(want.boxes));
    // rows past D are zero
    const int64_t D = got.scores.numel();
    for (int64_t w = 2 + 4 * D; w < 2 + 4 * capacity; ++w) REQUIRE(words.data<int32_t>()[w] == 0);
    if (!with_gpu) continue;
    Context gpu(Device::cuda(0));
    Tensor wg = detect_per_class_packed(gpu, rb.to(gpu.device(), gpu.stream()), p.to(gpu.device(), gpu.stream()),
                                        trows.to(gpu.device(), gpu.stream()), ts.to(gpu.device(), gpu.stream()), cfg);
    REQUIRE(vec<int32_t>(wg) == vec<int32_t>(words));  // every word, padding included
  }
}
}  // namespace

TEST_CASE("nms: detect_per_class_packed is detect_per_class on the valid rows, scaled", "[nms]") {
  check_packed_detections(false);
}

TEST_CASE("nms: detect_per_class_packed on the device gives the CPU's words exactly", "[nms][gpu]") {
  FRCNN_REQUIRE_GPU();
  check_packed_detections(true);
}
