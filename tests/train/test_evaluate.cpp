// evaluate_split end to end on the tiny synthetic fixture, and the conversion glue
// (ground truth, detections, devkit files) checked with a perfect detector.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "data/image.h"
#include "engine/log.h"
#include "tests/gpu.h"
#include "tests/train/eval_fixture.h"
#include "train/evaluate.h"

using namespace frcnn;
namespace fs = std::filesystem;

namespace {

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

// Feeds every ground-truth object of records [0, n) back as a detection (through the
// DetectResult-shaped tensors append_detections takes), shifted by `shift` times the
// box's width and height.
std::vector<std::vector<VocDetection>> gt_as_detections(const VocDataset& ds, size_t n, float shift) {
  std::vector<std::vector<VocDetection>> dets(ds.class_names().size());
  for (size_t i = 0; i < n; ++i) {
    const VocRecord& r = ds.record(i);
    std::vector<float> b, s;
    std::vector<int32_t> l;
    for (size_t k = 0; k < r.objects.size(); ++k) {
      const VocObject& o = r.objects[k];
      const float dx = shift * (o.x2 - o.x1), dy = shift * (o.y2 - o.y1);
      b.insert(b.end(), {o.x1 + dx, o.y1 + dy, o.x2 + dx, o.y2 + dy});
      s.push_back(0.9f - 0.01f * float(k));
      l.push_back(o.label);
    }
    const int64_t D = static_cast<int64_t>(s.size());
    append_detections(dets, r.id, Tensor::from_vector<float>({D, 4}, b), Tensor::from_vector<float>({D}, s),
                      Tensor::from_vector<int32_t>({D}, l), r.width, r.height);
  }
  return dets;
}

}  // namespace

TEST_CASE("evaluate: a perfect detector scores mAP 1 through the devkit files", "[evaluate]") {
  auto dir = test::temp_dir("eval_perfect");
  SynthOptions so;
  so.out = (dir / "voc").string();
  so.train = 0;
  so.test = 12;
  so.seed = 11;
  so.min_side = 128;
  so.max_side = 192;
  SynthSummary sum = write_synthetic_voc(so);
  REQUIRE(sum.difficult > 0);  // the difficult flags are exercised (seed chosen for it)
  VocDataset ds(so.out, "test", synth_class_names());
  auto gt = voc_ground_truth(ds, ds.size());
  REQUIRE(gt.size() == 12);
  int objects = 0;
  for (const auto& g : gt) {
    REQUIRE(g.boxes.size() == g.labels.size());
    REQUIRE(g.boxes.size() == g.difficult.size());
    for (int l : g.labels) REQUIRE((l >= 0 && l < 6));
    objects += int(g.boxes.size());
  }
  REQUIRE(objects == sum.objects);

  auto dets = gt_as_detections(ds, ds.size(), 0.f);
  EvalSummary s = score_detections(ds.class_names(), dets, gt, "test", (dir / "out").string(), ApMetric::Voc07);
  REQUIRE(s.map == Approx(1.0).epsilon(1e-12));
  int gt_non_difficult = 0, tp = 0, ignored = 0;
  for (const auto& c : s.result.classes) {
    gt_non_difficult += c.num_gt;
    tp += c.num_tp;
    ignored += c.num_ignored;
    REQUIRE(c.num_fp == 0);
    if (!c.excluded) REQUIRE(c.ap == Approx(1.0));
  }
  REQUIRE(tp == gt_non_difficult);
  REQUIRE(ignored == sum.difficult);  // detections on difficult boxes are neither TP nor FP
  REQUIRE(s.num_detections == sum.objects);

  // The same boxes moved by half their size (IoU 1/7) no longer match: the check can fail.
  auto shifted = gt_as_detections(ds, ds.size(), 0.5f);
  EvalSummary s2 = score_detections(ds.class_names(), shifted, gt, "test", (dir / "out2").string(), ApMetric::Voc07);
  REQUIRE(s2.map < 0.2);
}

TEST_CASE("evaluate: append_detections clips to the image and rejects bad labels", "[evaluate]") {
  std::vector<std::vector<VocDetection>> dets(2);
  append_detections(dets, "a", Tensor::from_vector<float>({2, 4}, {-3.f, 2.f, 50.5f, 40.f, 1.f, 1.f, 5.f, 5.f}),
                    Tensor::from_vector<float>({2}, {0.8f, 0.3f}), Tensor::from_vector<int32_t>({2}, {2, 1}), 50, 30);
  REQUIRE(dets[1].size() == 1);
  REQUIRE(dets[0].size() == 1);
  REQUIRE(dets[1][0].x1 == 0.f);
  REQUIRE(dets[1][0].x2 == 50.f);
  REQUIRE(dets[1][0].y2 == 30.f);
  REQUIRE(dets[1][0].score == 0.8f);
  REQUIRE(dets[0][0].x2 == 5.f);
  REQUIRE_THROWS_WITH(append_detections(dets, "b", Tensor::from_vector<float>({1, 4}, {0, 0, 1, 1}),
                                        Tensor::from_vector<float>({1}, {0.5f}), Tensor::from_vector<int32_t>({1}, {0}),
                                        10, 10),
                      Catch::Contains("label 0"));
}

TEST_CASE("evaluate: evaluate_split runs end to end and writes every file", "[evaluate]") {
  auto f = test::make_eval_fixture("eval_split");
  Context ctx;
  FasterRCNN model(f.cfg.model);
  model.load(ctx, f.weights.string());
  const fs::path out = f.dir / "eval";
  EvalSummary s = evaluate_split(ctx, model, f.cfg, f.conv, "test", out.string(), ApMetric::Voc07);
  REQUIRE(s.num_images == 4);
  REQUIRE(s.images_failed == 0);
  REQUIRE(s.map >= 0.0);
  REQUIRE(s.map <= 1.0);
  REQUIRE(s.mean_detect_ms > 0.0);
  REQUIRE(s.mean_timing.total_ms >= s.mean_timing.conv_ms);
  REQUIRE(s.num_detections > 0);  // a random head scores ~1/7 per class, above 0.05

  for (const auto& c : f.cfg.model.classes) REQUIRE(fs::exists(voc_results_path(out.string(), "test", c)));
  auto ev = read_json(out / "eval.json");
  REQUIRE(ev["map"].get<double>() == Approx(s.map));
  REQUIRE(ev["num_images"].get<int>() == 4);
  REQUIRE(ev["split"].get<std::string>() == "test");
  REQUIRE(ev["classes"].size() == 6);
  REQUIRE(ev["mean_timing_ms"]["total"].get<double>() > 0.0);
  auto coco = read_json(out / "detections.json");
  REQUIRE(coco.is_array());
  REQUIRE(int(coco.size()) == s.num_detections);
  Image pr = load_image((out / "pr_all.png").string());
  REQUIRE(pr.width > 0);

  // Re-scoring the written files alone gives the same numbers.
  VocDataset ds(f.voc.string(), "test", f.cfg.model.classes);
  EvalSummary r = evaluate_results(f.cfg.model.classes, voc_ground_truth(ds, ds.size()), out.string(), "test",
                                   (f.dir / "rescore").string(), ApMetric::Voc07);
  REQUIRE(r.map == s.map);

  // max_images limits both the detection pass and the ground truth.
  EvalSummary two = evaluate_split(ctx, model, f.cfg, f.conv, "test", (f.dir / "two").string(), ApMetric::Voc10, 2);
  REQUIRE(two.num_images == 2);
  REQUIRE(read_json(f.dir / "two" / "eval.json")["metric"].get<std::string>() == "voc10_area");
}

TEST_CASE("evaluate: an unreadable image is skipped and its objects count as missed", "[evaluate]") {
  auto f = test::make_eval_fixture("eval_bad");
  VocDataset ds(f.voc.string(), "test", f.cfg.model.classes);
  std::ofstream(ds.record(1).image_path, std::ios::binary | std::ios::trunc) << "not a jpeg";
  Context ctx;
  FasterRCNN model(f.cfg.model);
  model.load(ctx, f.weights.string());
  EvalSummary s = evaluate_split(ctx, model, f.cfg, f.conv, "test", (f.dir / "eval").string(), ApMetric::Voc07);
  REQUIRE(s.num_images == 4);
  REQUIRE(s.images_failed == 1);
  REQUIRE(read_json(f.dir / "eval" / "eval.json")["images_failed"].get<int>() == 1);
}

TEST_CASE("evaluate: a missing split or empty data root is a clear error", "[evaluate]") {
  auto f = test::make_eval_fixture("eval_missing");
  Context ctx;
  FasterRCNN model(f.cfg.model);
  REQUIRE_THROWS_WITH(evaluate_split(ctx, model, f.cfg, f.conv, "nosuchsplit", (f.dir / "e").string(), ApMetric::Voc07),
                      Catch::Contains("nosuchsplit"));
  Config c = f.cfg;
  c.data.root.clear();
  REQUIRE_THROWS_WITH(evaluate_split(ctx, model, c, f.conv, "test", (f.dir / "e").string(), ApMetric::Voc07),
                      Catch::Contains("data.root"));
}

TEST_CASE("evaluate: a split with no ground truth is an error, not mAP 0", "[evaluate]") {
  auto f = test::make_eval_fixture("eval_no_gt");
  // Every test image keeps its annotation file but loses its objects (or keeps only
  // difficult ones): nothing to measure recall against.
  VocDataset ds(f.voc.string(), "test", f.cfg.model.classes);
  for (size_t i = 0; i < ds.size(); ++i) {
    const VocRecord& r = ds.record(i);
    std::vector<VocObject> objs;
    if (i == 0 && !r.objects.empty()) {
      objs.push_back(r.objects[0]);
      objs.back().difficult = true;
    }
    std::ofstream(r.annotation_path) << voc_annotation_xml(r.id, r.width, r.height, objs);
  }
  Context ctx;
  FasterRCNN model(f.cfg.model);
  model.load(ctx, f.weights.string());
  const fs::path out = f.dir / "eval";
  REQUIRE_THROWS_WITH(evaluate_split(ctx, model, f.cfg, f.conv, "test", out.string(), ApMetric::Voc07),
                      Catch::Contains(f.voc.string() + " split 'test'") && Catch::Contains("mAP is not defined"));
  REQUIRE(!fs::exists(out / "results"));  // refused before any detection was written
  // Re-scoring result files against it is refused the same way.
  REQUIRE_THROWS_WITH(evaluate_results(f.cfg.model.classes, voc_ground_truth(VocDataset(f.voc.string(), "test",
                                                                                        f.cfg.model.classes),
                                                                             4),
                                       out.string(), "test", out.string(), ApMetric::Voc07),
                      Catch::Contains("mAP is not defined"));
}

TEST_CASE("evaluate: on CUDA (uploads on their own stream) the detections are the CPU's", "[evaluate][gpu]") {
  FRCNN_REQUIRE_GPU();
  auto f = test::make_eval_fixture("eval_split_gpu");
  Context cpu, gpu(Device::cuda());
  FasterRCNN a(f.cfg.model), b(f.cfg.model);
  a.load(cpu, f.weights.string());
  b.to(gpu);
  b.load(gpu, f.weights.string());
  EvalSummary sc = evaluate_split(cpu, a, f.cfg, f.conv, "test", (f.dir / "cpu").string(), ApMetric::Voc07);
  EvalSummary sg = evaluate_split(gpu, b, f.cfg, f.conv, "test", (f.dir / "gpu").string(), ApMetric::Voc07);
  REQUIRE(sg.images_failed == 0);
  REQUIRE(sg.map == Approx(sc.map).margin(1e-2));
  // Image by image (an image detected under another's id would show): the number of
  // detections and their summed score agree, within what FP32 summation order can flip
  // (a near-tie at NMS or at the score threshold).
  std::map<std::string, std::pair<int, double>> per_image[2];
  for (int k = 0; k < 2; ++k)
    for (const auto& d : read_json(f.dir / (k ? "gpu" : "cpu") / "detections.json")) {
      auto& e = per_image[k][d["image_id"].get<std::string>()];
      e.first += 1;
      e.second += d["score"].get<double>();
    }
  REQUIRE(per_image[0].size() == 4);
  REQUIRE(per_image[1].size() == 4);
  for (const auto& [id, c] : per_image[0]) {
    INFO("image " << id);
    const auto& g = per_image[1].at(id);
    REQUIRE(std::abs(g.first - c.first) <= 1 + c.first / 50);
    REQUIRE(g.second == Approx(c.second).epsilon(0.03).margin(0.2));
  }
}
