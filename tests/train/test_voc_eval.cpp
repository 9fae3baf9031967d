// VOC evaluation against hand-worked cases. Every expected AP below is computed by hand in
// the comment next to it, from the devkit's rules (train/voc_eval.h), for both metrics.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/test_util.h"
#include "train/voc_eval.h"

using namespace frcnn;

namespace {

VocDetection det(const std::string& img, float s, float x1, float y1, float x2, float y2) {
  VocDetection d;
  d.image_id = img;
  d.score = s;
  d.x1 = x1;
  d.y1 = y1;
  d.x2 = x2;
  d.y2 = y2;
  return d;
}

VocGtImage gt_image(const std::string& id, std::vector<std::array<float, 4>> boxes, std::vector<int> labels,
                    std::vector<bool> difficult = {}) {
  VocGtImage g;
  g.image_id = id;
  g.boxes = std::move(boxes);
  g.labels = std::move(labels);
  g.difficult = difficult.empty() ? std::vector<bool>(g.boxes.size(), false) : std::move(difficult);
  return g;
}

double ap_of(const std::vector<VocDetection>& dets, const std::vector<VocGtImage>& gt, ApMetric m) {
  return voc_eval_class(0, "c", dets, gt, m).ap;
}

}  // namespace

TEST_CASE("voc_eval: a single perfect detection has AP 1 in both metrics", "[voc_eval]") {
  std::vector<VocGtImage> gt = {gt_image("a", {{10, 20, 110, 220}}, {0})};
  std::vector<VocDetection> dets = {det("a", 0.9f, 10, 20, 110, 220)};
  for (ApMetric m : {ApMetric::Voc07, ApMetric::Voc10}) {
    auto r = voc_eval_class(0, "c", dets, gt, m);
    REQUIRE(r.ap == Approx(1.0));
    REQUIRE(r.num_tp == 1);
    REQUIRE(r.num_fp == 0);
    REQUIRE(r.recall == std::vector<double>{1.0});
    REQUIRE(r.precision == std::vector<double>{1.0});
  }
}

TEST_CASE("voc_eval: worked example T F T F T with 3 GT", "[voc_eval]") {
  // Image a: GT g0, g1; image b: GT g2. Detections in score order:
  //   0.9 on g0 -> T; 0.8 on empty space in b -> F; 0.7 on g2 -> T;
  //   0.6 on g0 again -> F (duplicate); 0.5 on g1 -> T.
  // cumTP 1 1 2 2 3, cumFP 0 1 1 2 2
  // recall    1/3 1/3 2/3 2/3 1
  // precision 1   1/2 2/3 1/2 3/5
  // 11-point: t = 0, .1, .2, .3 -> 1 (t_3 = 0.30000000000000004 <= 1/3);
  //   t = .4, .5, .6 -> max(2/3, 1/2, 3/5) = 2/3; t = .7 .. 1 -> 3/5.
  //   AP = (4*1 + 3*2/3 + 4*3/5) / 11 = 8.4/11 = 0.763636...
  // area: envelope over recall steps: 1/3*1 + 1/3*2/3 + 1/3*3/5 = 34/45 = 0.755556...
  std::vector<VocGtImage> gt = {gt_image("a", {{0, 0, 50, 50}, {100, 100, 160, 150}}, {0, 0}),
                                gt_image("b", {{20, 30, 80, 90}}, {0})};
  // Passed in shuffled order: the ranking comes from the scores.
  std::vector<VocDetection> dets = {det("b", 0.7f, 21, 30, 80, 91), det("a", 0.5f, 101, 99, 160, 150),
                                    det("a", 0.9f, 0, 0, 50, 50), det("b", 0.8f, 200, 200, 250, 250),
                                    det("a", 0.6f, 2, 1, 50, 52)};
  auto r = voc_eval_class(0, "c", dets, gt, ApMetric::Voc07);
  REQUIRE(r.num_gt == 3);
  REQUIRE(r.num_tp == 3);
  REQUIRE(r.num_fp == 2);
  test::require_close(std::vector<float>(r.recall.begin(), r.recall.end()), {1 / 3.f, 1 / 3.f, 2 / 3.f, 2 / 3.f, 1.f},
                      1e-6, 0, "recall");
  test::require_close(std::vector<float>(r.precision.begin(), r.precision.end()),
                      {1.f, 0.5f, 2 / 3.f, 0.5f, 0.6f}, 1e-6, 0, "precision");
  REQUIRE(r.ap == Approx(8.4 / 11.0).epsilon(1e-12));
  REQUIRE(ap_of(dets, gt, ApMetric::Voc10) == Approx(34.0 / 45.0).epsilon(1e-12));
}

TEST_CASE("voc_eval: ties in score keep the input order", "[voc_eval]") {
  // One GT; two detections with the same score, one hitting (T) and one missing (F).
  // Order F, T: recall 0, 1; precision 0, 1/2 -> 11-point: every t sees 1/2 -> AP 0.5;
  //   area: 1 * 0.5 = 0.5.
  // Order T, F: recall 1, 1; precision 1, 1/2 -> AP 1 in both.
  std::vector<VocGtImage> gt = {gt_image("a", {{0, 0, 10, 10}}, {0})};
  auto hit = det("a", 0.5f, 0, 0, 10, 10);
  auto miss = det("a", 0.5f, 50, 50, 60, 60);
  for (ApMetric m : {ApMetric::Voc07, ApMetric::Voc10}) {
    REQUIRE(ap_of({miss, hit}, gt, m) == Approx(0.5));
    REQUIRE(ap_of({hit, miss}, gt, m) == Approx(1.0));
  }
}

TEST_CASE("voc_eval: a detection matching a difficult GT is neither TP nor FP", "[voc_eval]") {
  // GT: one normal box, one difficult box. The higher-scored detection hits the difficult box:
  // ignored -> recall 0, precision 0 (nothing counted yet); then T -> recall 1, precision 1.
  // AP 1 in both metrics. Had it been an FP, precision at recall 1 would be 1/2 -> AP 0.5.
  std::vector<VocGtImage> gt = {gt_image("a", {{0, 0, 10, 10}, {100, 100, 140, 140}}, {0, 0}, {false, true})};
  std::vector<VocDetection> dets = {det("a", 0.95f, 100, 100, 140, 140), det("a", 0.9f, 0, 0, 10, 10)};
  for (ApMetric m : {ApMetric::Voc07, ApMetric::Voc10}) {
    auto r = voc_eval_class(0, "c", dets, gt, m);
    REQUIRE(r.ap == Approx(1.0));
    REQUIRE(r.num_gt == 1);
    REQUIRE(r.num_difficult == 1);
    REQUIRE(r.num_ignored == 1);
    REQUIRE(r.num_tp == 1);
    REQUIRE(r.num_fp == 0);
    REQUIRE(r.precision == std::vector<double>{0.0, 1.0});
  }
  // A second detection on the difficult box is still ignored (no duplicate FP for difficult).
  dets.push_back(det("a", 0.1f, 101, 100, 140, 140));
  REQUIRE(voc_eval_class(0, "c", dets, gt).num_ignored == 2);
  REQUIRE(voc_eval_class(0, "c", dets, gt).num_fp == 0);
}

TEST_CASE("voc_eval: the second detection of the same GT is a false positive", "[voc_eval]") {
  // One GT, two detections on it: T then F. recall 1, 1; precision 1, 1/2 -> AP 1.
  // Plus a second GT found only after the duplicate: T F T -> recall 1/2 1/2 1,
  // precision 1 1/2 2/3. 11-point: t <= .5 -> 1 (6 points), t > .5 -> 2/3 (5 points):
  // (6 + 10/3) / 11 = 0.848485; area: 1/2*1 + 1/2*2/3 = 5/6.
  std::vector<VocGtImage> gt = {gt_image("a", {{0, 0, 10, 10}, {30, 30, 40, 40}}, {0, 0})};
  std::vector<VocDetection> dets = {det("a", 0.9f, 0, 0, 10, 10), det("a", 0.8f, 0, 0, 10, 11),
                                    det("a", 0.7f, 30, 30, 40, 40)};
  auto r = voc_eval_class(0, "c", dets, gt, ApMetric::Voc07);
  REQUIRE(r.num_tp == 2);
  REQUIRE(r.num_fp == 1);
  REQUIRE(r.ap == Approx((6.0 + 10.0 / 3.0) / 11.0).epsilon(1e-12));
  REQUIRE(ap_of(dets, gt, ApMetric::Voc10) == Approx(5.0 / 6.0).epsilon(1e-12));
}

TEST_CASE("voc_eval: no detections gives AP 0 and no GT excludes the class from the mean", "[voc_eval]") {
  // Classes: 0 "cat" found perfectly (AP 1), 1 "dog" has GT and no detections (AP 0),
  // 2 "cow" has only a difficult GT and one detection elsewhere (excluded), 3 "bird" has nothing.
  // mAP = (1 + 0) / 2 = 0.5.
  std::vector<std::string> names = {"cat", "dog", "cow", "bird"};
  std::vector<VocGtImage> gt = {gt_image("a", {{0, 0, 10, 10}, {20, 20, 30, 30}, {40, 40, 50, 50}}, {0, 1, 2},
                                         {false, false, true}),
                                gt_image("empty", {}, {})};
  std::vector<std::vector<VocDetection>> dets(4);
  dets[0] = {det("a", 0.9f, 0, 0, 10, 10)};
  dets[2] = {det("empty", 0.3f, 0, 0, 5, 5)};
  for (ApMetric m : {ApMetric::Voc07, ApMetric::Voc10}) {
    auto res = voc_evaluate(names, dets, gt, m);
    REQUIRE(res.classes.size() == 4);
    REQUIRE(res.classes[0].ap == Approx(1.0));
    REQUIRE(res.classes[1].ap == 0.0);
    REQUIRE_FALSE(res.classes[1].excluded);
    REQUIRE(res.classes[1].recall.empty());
    REQUIRE(res.classes[2].excluded);
    REQUIRE(res.classes[2].num_fp == 1);
    REQUIRE(res.classes[3].excluded);
    REQUIRE(res.excluded == std::vector<std::string>{"cow", "bird"});
    REQUIRE(res.map == Approx(0.5));
    auto table = format_ap_table(res);
    REQUIRE_THAT(table, Catch::Contains("mAP") && Catch::Contains("0.5000") && Catch::Contains("over 2 classes") &&
                            Catch::Contains("excluded (no non-difficult ground truth): cow bird"));
  }
}

TEST_CASE("voc_eval: 11-point thresholds are k times 0.1 as numpy arange makes them", "[voc_eval]") {
  // 10 GT, 3 perfect detections: recall .1 .2 .3, precision 1. t_1 = 0.1 and t_2 = 0.2 are
  // reached (1/10 and 2/10 are the same doubles), t_3 = 3*0.1 = 0.30000000000000004 > 3/10 is
  // not: AP = 3/11 (not 4/11). Area: 0.3 * 1 = 0.3.
  std::vector<std::array<float, 4>> boxes;
  for (int i = 0; i < 10; ++i) boxes.push_back({float(20 * i), 0, float(20 * i + 10), 10});
  std::vector<VocGtImage> gt = {gt_image("a", boxes, std::vector<int>(10, 0))};
  std::vector<VocDetection> dets;
  for (int i = 0; i < 3; ++i) dets.push_back(det("a", 1.f - 0.1f * i, float(20 * i), 0, float(20 * i + 10), 10));
  REQUIRE(ap_of(dets, gt, ApMetric::Voc07) == Approx(3.0 / 11.0).epsilon(1e-12));
  REQUIRE(ap_of(dets, gt, ApMetric::Voc10) == Approx(0.3).epsilon(1e-12));
}

TEST_CASE("voc_eval: the devkit's +1 overlap decides the 0.5 threshold", "[voc_eval]") {
  // In 1-based devkit pixels, GT (1,1,3,3) is 3x3 = 9 pixels and (1,1,2,3) is 2x3 = 6:
  // overlap 6/9 > 0.5. A plain continuous IoU of the same numbers would be 2/4 = 0.5, not > 0.5.
  REQUIRE(devkit_overlap({1, 1, 3, 3}, {1, 1, 2, 3}) == Approx(6.0 / 9.0));
  // Disjoint and touching-by-one-pixel boxes.
  REQUIRE(devkit_overlap({1, 1, 3, 3}, {5, 5, 6, 6}) == 0.0);
  REQUIRE(devkit_overlap({1, 1, 3, 3}, {3, 3, 4, 4}) == Approx(1.0 / 12.0));  // 1 / (9 + 4 - 1)

  // The same two boxes in our convention (x1-1, y1-1, x2, y2): GT (0,0,3,3), det (0,0,2,3) -> TP.
  std::vector<VocGtImage> gt = {gt_image("a", {{0, 0, 3, 3}}, {0})};
  REQUIRE(voc_eval_class(0, "c", {det("a", 1, 0, 0, 2, 3)}, gt).num_tp == 1);
  // Devkit GT (1,1,4,4) = 16 px, det (1,1,2,4) = 8 px -> 0.5, not > 0.5 -> FP. In our
  // convention GT (0,0,4,4), det (0,0,2,4). Applying the +1 formula to these unconverted
  // numbers would give 15/25 = 0.6 and a wrong TP.
  std::vector<VocGtImage> gt4 = {gt_image("a", {{0, 0, 4, 4}}, {0})};
  auto r = voc_eval_class(0, "c", {det("a", 1, 0, 0, 2, 4)}, gt4);
  REQUIRE(r.num_tp == 0);
  REQUIRE(r.num_fp == 1);
  // And a hair more (x2 = 2.1) crosses it: 8.4 / 16 > 0.5.
  REQUIRE(voc_eval_class(0, "c", {det("a", 1, 0, 0, 2.1f, 4)}, gt4).num_tp == 1);
}

TEST_CASE("voc_eval: bad input is rejected with a clear message", "[voc_eval]") {
  std::vector<VocGtImage> gt = {gt_image("a", {{0, 0, 10, 10}}, {0})};
  REQUIRE_THROWS_WITH(voc_eval_class(0, "c", {det("a", NAN, 0, 0, 1, 1)}, gt), Catch::Contains("non-finite score"));
  REQUIRE_THROWS_WITH(voc_eval_class(0, "c", {det("zzz", 1, 0, 0, 1, 1)}, gt),
                      Catch::Contains("zzz") && Catch::Contains("no ground-truth record"));
  REQUIRE_THROWS_WITH(voc_eval_class(0, "c", {det("a", 1, 5, 0, 1, 1)}, gt), Catch::Contains("x2 < x1"));
  REQUIRE_THROWS_WITH(voc_evaluate({"c"}, {}, gt), Catch::Contains("0 detection lists for 1 classes"));
  auto bad = gt;
  bad[0].labels[0] = 3;
  REQUIRE_THROWS_WITH(voc_evaluate({"c"}, {{}}, bad), Catch::Contains("label 3 out of range"));
  bad = gt;
  bad.push_back(gt[0]);
  REQUIRE_THROWS_WITH(voc_evaluate({"c"}, {{}}, bad), Catch::Contains("appears twice"));
  REQUIRE_THROWS(parse_ap_metric("voc12"));
  REQUIRE(parse_ap_metric("voc2007") == ApMetric::Voc07);
}

TEST_CASE("voc_eval: result files round trip and re-score the same", "[voc_eval]") {
  auto dir = test::temp_dir("voc_results");
  std::vector<std::string> names = {"cat", "dog"};
  std::vector<VocGtImage> gt = {gt_image("000005", {{10, 10, 50, 60}, {100, 20, 180, 90}}, {0, 1}),
                                gt_image("000007", {{5, 5, 30, 30}}, {0})};
  std::vector<std::vector<VocDetection>> dets(2);
  dets[0] = {det("000005", 0.87654321f, 10.5f, 9.5f, 50.2f, 60.1f), det("000007", 0.25f, 100, 100, 120, 130),
             det("000007", 0.5f, 5, 6, 30, 29.5f)};
  dets[1] = {};
  auto paths = write_voc_results(dir.string(), "test", names, dets);
  REQUIRE(paths.size() == 2);
  REQUIRE(paths[0] == (dir / "results" / "comp4_det_test_cat.txt").string());
  {
    std::ifstream f(paths[0]);
    std::string line;
    std::getline(f, line);
    // devkit coordinates: x1+1, y1+1, x2, y2, 1 decimal; score 6 decimals.
    REQUIRE(line == "000005 0.876543 11.5 10.5 50.2 60.1");
  }
  auto back = read_voc_results(dir.string(), "test", names);
  REQUIRE(back.size() == 2);
  REQUIRE(back[1].empty());
  REQUIRE(back[0].size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    const auto &a = dets[0][i], &b = back[0][i];
    REQUIRE(a.image_id == b.image_id);
    REQUIRE(std::fabs(a.score - b.score) <= 5e-7f);
    REQUIRE(std::fabs(a.x1 - b.x1) <= 0.05f + 1e-4f);
    REQUIRE(std::fabs(a.y1 - b.y1) <= 0.05f + 1e-4f);
    REQUIRE(std::fabs(a.x2 - b.x2) <= 0.05f + 1e-4f);
    REQUIRE(std::fabs(a.y2 - b.y2) <= 0.05f + 1e-4f);
  }
  auto r1 = voc_evaluate(names, dets, gt);
  auto r2 = voc_evaluate(names, back, gt);
  REQUIRE(r1.map == Approx(r2.map));
  REQUIRE(r1.classes[0].num_tp == 2);

  // Malformed and missing files name the file (and line).
  std::ofstream(paths[1]) << "000005 0.5 1 2 3\n";
  REQUIRE_THROWS_WITH(read_voc_results(dir.string(), "test", names),
                      Catch::Contains("comp4_det_test_dog.txt:1") && Catch::Contains("expected"));
  REQUIRE_THROWS_WITH(read_voc_results(dir.string(), "val", names), Catch::Contains("comp4_det_val_cat.txt"));
}

TEST_CASE("voc_eval: eval.json and COCO detections hold the numbers", "[voc_eval]") {
  auto dir = test::temp_dir("voc_json");
  std::vector<std::string> names = {"cat", "dog", "cow"};
  std::vector<VocGtImage> gt = {gt_image("a", {{0, 0, 10, 10}, {20, 20, 30, 30}}, {0, 1}, {false, true})};
  std::vector<std::vector<VocDetection>> dets(3);
  dets[0] = {det("a", 0.9f, 0, 0, 10, 10), det("a", 0.4f, 50, 50, 70, 60)};
  auto res = voc_evaluate(names, dets, gt, ApMetric::Voc10);
  write_eval_json((dir / "eval.json").string(), res);
  std::ifstream f(dir / "eval.json");
  auto j = nlohmann::json::parse(f);
  REQUIRE(j["metric"] == "voc10_area");
  REQUIRE(j["map"].get<double>() == Approx(1.0));
  REQUIRE(j["num_classes_in_mean"] == 1);
  REQUIRE(j["excluded"] == nlohmann::json({"dog", "cow"}));
  REQUIRE(j["classes"].size() == 3);
  REQUIRE(j["classes"][0]["name"] == "cat");
  REQUIRE(j["classes"][0]["ap"].get<double>() == Approx(1.0));
  REQUIRE(j["classes"][0]["num_gt"] == 1);
  REQUIRE(j["classes"][0]["num_detections"] == 2);
  REQUIRE(j["classes"][0]["tp"] == 1);
  REQUIRE(j["classes"][0]["fp"] == 1);
  REQUIRE(j["classes"][1]["ap"].is_null());
  REQUIRE(j["classes"][1]["num_difficult"] == 1);

  write_coco_detections((dir / "dets.json").string(), names, dets);
  std::ifstream g(dir / "dets.json");
  auto c = nlohmann::json::parse(g);
  REQUIRE(c.size() == 2);
  REQUIRE(c[1]["image_id"] == "a");
  REQUIRE(c[1]["category_id"] == 1);
  REQUIRE(c[1]["category_name"] == "cat");
  REQUIRE(c[1]["bbox"] == nlohmann::json({50.0, 50.0, 20.0, 10.0}));
  REQUIRE(c[1]["score"].get<double>() == Approx(0.4));
}

TEST_CASE("voc_eval: agrees with py-faster-rcnn's voc_eval.py on random cases", "[voc_eval]") {
  // tests/fixtures/voc_eval/voc_eval_py_cases.json from scripts/fixtures/gen_voc_eval.py:
  // voc_eval.py's numpy logic (with a stable argsort) on random GT/detections, with scores
  // rounded to 2 decimals so ties occur. Boxes there are 1-based devkit pixels.
  std::ifstream f(std::string(FRCNN_FIXTURES_DIR) + "/voc_eval/voc_eval_py_cases.json");
  REQUIRE(f.good());
  auto j = nlohmann::json::parse(f);
  REQUIRE(j["cases"].size() == 6);
  for (const auto& cs : j["cases"]) {
    std::vector<VocGtImage> gt;
    for (const auto& g : cs["gt"]) {
      VocGtImage im;
      im.image_id = g["image_id"];
      for (const auto& b : g["boxes"])
        im.boxes.push_back({b[0].get<float>() - 1, b[1].get<float>() - 1, b[2].get<float>(), b[3].get<float>()});
      for (const auto& d : g["difficult"]) im.difficult.push_back(d.get<bool>());
      im.labels.assign(im.boxes.size(), 0);
      gt.push_back(im);
    }
    std::vector<VocDetection> dets;
    for (const auto& d : cs["dets"])
      dets.push_back(det(d[0], d[1].get<float>(), d[2].get<float>() - 1, d[3].get<float>() - 1, d[4].get<float>(),
                         d[5].get<float>()));
    REQUIRE(ap_of(dets, gt, ApMetric::Voc07) == Approx(cs["ap07"].get<double>()).margin(1e-9));
    REQUIRE(ap_of(dets, gt, ApMetric::Voc10) == Approx(cs["ap10"].get<double>()).margin(1e-9));
  }
}
