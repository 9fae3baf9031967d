// The whole pipeline through the real binary, as CI's end-to-end check:
//   frcnn synth -> frcnn train (configs/tiny.yaml, short schedules, alt4 and joint)
//   -> the evaluation it runs at the end -> an mAP floor.
// The joint run is also the precision check (model.precision): the fp32 model detects the
// same boxes in tf32 and bf16, and the same joint schedule trained in bf16 reaches fp32's
// loss within a stated margin.
// The floors are measured values with a margin (see each test); the schedules are cut
// (100 training images, alt4 1000/1000/500/500, joint 2000) so that both runs together
// take about four minutes on two CPU cores.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <map>

#include "kernels/box_math.h"
#include "tests/apps/frcnn_cli.h"
#include "tests/test_util.h"

using namespace frcnn;
using namespace frcnn::test;

namespace {

// One synthetic dataset for both tests (deterministic: the same bytes every run).
const fs::path& e2e_data() {
  static fs::path root;
  if (root.empty()) {
    root = temp_dir("e2e_data") / "synth";
    CmdResult r = run_frcnn(root.parent_path(), "synth --out " + quote(root.string()) +
                                                    " --train 100 --test 40 --seed 21");
    REQUIRE(r.code == 0);
  }
  return root;
}

// Trains into <tmp>/e2e_<tag>/run and returns that folder's test mAP.
double train_and_eval(const std::string& tag, const std::string& schedule_args, fs::path* run_dir = nullptr) {
  const fs::path out = temp_dir("e2e_" + tag);
  if (run_dir) *run_dir = out / "run";
  CmdResult r = run_frcnn(out, "train -c " + quote(FRCNN_SOURCE_DIR "/configs/tiny.yaml") + " --data " +
                                   quote(e2e_data().string()) + " --out " + quote((out / "run").string()) +
                                   " --device cpu " + schedule_args);
  REQUIRE(r.code == 0);
  REQUIRE(fs::exists(out / "run" / "model.safetensors"));
  REQUIRE(fs::exists(out / "run" / "eval" / "eval.json"));
  const double map = read_json(out / "run" / "eval" / "eval.json")["map"].get<double>();
  WARN(tag << ": test mAP " << map);
  return map;
}

// Mean of metrics.jsonl's "loss" over the run's last `n` iterations.
double final_loss(const fs::path& run_dir, size_t n) {
  std::ifstream in(run_dir / "metrics.jsonl");
  std::vector<double> losses;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.contains("loss")) losses.push_back(j["loss"].get<double>());
  }
  REQUIRE(losses.size() >= n);
  double s = 0;
  for (size_t i = losses.size() - n; i < losses.size(); ++i) s += losses[i];
  return s / double(n);
}

// `frcnn detect` of the test split with the model at `weights` in `precision`: per image
// stem, its detections (label, score, box) as the JSON output gives them.
struct Det {
  int label;
  float score;
  float box[4];
};
std::map<std::string, std::vector<Det>> detect_test_split(const fs::path& weights, const std::string& precision,
                                                          const fs::path& dir) {
  std::vector<std::string> images;
  std::ifstream ids(e2e_data() / "ImageSets" / "Main" / "test.txt");
  for (std::string id; std::getline(ids, id);)
    if (!id.empty()) images.push_back(quote((e2e_data() / "JPEGImages" / (id + ".jpg")).string()));
  REQUIRE(images.size() == 40);
  std::string list;
  for (const auto& i : images) list += " " + i;
  const fs::path out = dir / ("detect_" + precision);
  CmdResult r = run_frcnn(dir, "detect --device cpu --weights " + quote(weights.string()) + " --set model.precision=" +
                                   precision + " --out " + quote(out.string()) + list);
  REQUIRE(r.code == 0);
  std::map<std::string, std::vector<Det>> all;
  for (const auto& e : fs::directory_iterator(out)) {
    if (e.path().extension() != ".json") continue;
    auto& v = all[e.path().stem().string()];
    const nlohmann::json j = read_json(e.path());  // kept alive for the loop (a temporary's member would dangle)
    for (const auto& d : j["detections"]) {
      Det x{d["label"].get<int>(), d["score"].get<float>(), {}};
      for (int c = 0; c < 4; ++c) x.box[c] = d["box"][c].get<float>();
      v.push_back(x);
    }
  }
  REQUIRE(all.size() == 40);
  return all;
}

// How many detections of `a` have an unused one in `b` with their label, IoU >= min_iou and a
// score within score_tol; the unmatched ones are listed as warnings.
size_t match_detections(const std::vector<Det>& a, const std::vector<Det>& b, float min_iou, float score_tol,
                        const std::string& what) {
  std::vector<bool> used(b.size(), false);
  size_t matched = 0;
  for (const Det& d : a) {
    bool found = false;
    for (size_t j = 0; j < b.size() && !found; ++j) {
      if (used[j] || b[j].label != d.label || std::fabs(b[j].score - d.score) > score_tol) continue;
      if (box_iou(d.box, b[j].box) >= min_iou) used[j] = found = true;
    }
    if (!found)
      WARN(what << ": unmatched detection label " << d.label << " score " << d.score << " box (" << d.box[0] << ", "
                << d.box[1] << ", " << d.box[2] << ", " << d.box[3] << ")");
    matched += found;
  }
  return matched;
}

}  // namespace

TEST_CASE("e2e: synth then alt4 training then evaluation reaches the mAP floor", "[e2e]") {
  const double map = train_and_eval("alt4", "--schedule alt4"
                                                " --set 'schedule.rpn1={iters: 1000, step: 750, ims_per_batch: 1}'"
                                                " --set 'schedule.frcn1={iters: 1000, step: 750, ims_per_batch: 2}'"
                                                " --set 'schedule.rpn2={iters: 500, step: 375, ims_per_batch: 1}'"
                                                " --set 'schedule.frcn2={iters: 500, step: 375, ims_per_batch: 2}'");
  // Measured 0.620 on the 2-core CI-class VM (2026-11-21; 152 s), 0.649 (2026-12-02, JPEGs
  // decoded by libjpeg-turbo), 0.535 (2026-12-03, every CPU conv pass on oneDNN). The run is
  // deterministic for a build, but OpenBLAS and oneDNN pick CPU-specific kernels, and any
  // change of rounding sends the 3000 SGD steps elsewhere, so the floor keeps a wide margin.
  REQUIRE(map >= 0.40);
}

TEST_CASE("e2e: synth then joint training then evaluation reaches the mAP floor, and tf32 and bf16 detect and train like fp32",
          "[e2e]") {
  const std::string joint = "--schedule joint --set 'schedule.joint={iters: 2000, step: 1500, ims_per_batch: 1}'";
  fs::path fp32_run;
  const double map = train_and_eval("joint", joint, &fp32_run);
  // Measured 0.566 (2026-11-21; 96 s), 0.677 (2026-12-02, also with the build of 5738a99),
  // 0.644 (2026-12-02, JPEGs decoded by libjpeg-turbo), 0.665 (2026-12-03, the CPU conv forward
  // on oneDNN) and 0.541 (its backward too); floor with the same margin as alt4's.
  REQUIRE(map >= 0.35);

  // Detection in tf32 and bf16 with the fp32 model: detections matched one to one with
  // IoU >= 0.99 and scores within 1e-2, both ways, for at least 90 % of them. Not all: a
  // rounding can move a proposal across a discrete decision (the RPN's top-N cut or NMS, the
  // 0.05 score threshold), which replaces a detection by another, and one changed proposal
  // can replace several. How many flip depends on the CPU (OpenBLAS picks its kernels, hence
  // its summation order, by CPU model) and on the inputs: measured 2026-12-02 on the 2-core VM,
  // 40 test images, with stb_image decoding 530 fp32 detections: tf32 523 matched (98.7 %),
  // bf16 513 (96.8 %, five of the 17 misses in one image); with libjpeg-turbo 477: tf32 472
  // (99.0 %), bf16 460 (96.4 %). CI's machine failed an earlier 97 % rule.
  const auto ref = detect_test_split(fp32_run / "model.safetensors", "fp32", fp32_run.parent_path());
  size_t total = 0;
  for (const auto& [stem, dets] : ref) total += dets.size();
  REQUIRE(total > 100);
  for (const char* p : {"tf32", "bf16"}) {
    const auto got = detect_test_split(fp32_run / "model.safetensors", p, fp32_run.parent_path());
    size_t matched = 0, got_total = 0, matched_back = 0;
    for (const auto& [stem, dets] : ref) {
      matched += match_detections(dets, got.at(stem), 0.99f, 1e-2f, std::string(p) + " " + stem);
      matched_back += match_detections(got.at(stem), dets, 0.99f, 1e-2f, std::string(p) + " " + stem + " (reverse)");
      got_total += got.at(stem).size();
    }
    WARN(p << ": " << matched << " of " << total << " fp32 detections matched; " << matched_back << " of " << got_total
           << " the other way");
    REQUIRE(double(matched) >= 0.90 * double(total));
    REQUIRE(double(matched_back) >= 0.90 * double(got_total));
  }

  // The same joint schedule trained in bf16: the final loss (mean of the last 500
  // iterations) near fp32's, and the mAP floor. The two runs part after the first rounding
  // (2000 single-image SGD steps), and at the end the loss still falls about 15 % per 250
  // iterations, so whichever run is ahead reads lower. Measured fp32 / bf16: 0.3935 / 0.3961
  // (2026-12-02, bf16 mAP 0.664), 0.3885 / 0.3481 (2026-12-03, the CPU conv forward on
  // oneDNN; 0.719), 0.4947 / 0.4077 (its backward too; 0.654): bf16 / fp32 from 0.82 to 1.01,
  // the per-iteration spread 0.22. So the margin is wide: a bf16 run that learns clearly
  // worse reads more than 25 % higher; one under 0.6 of fp32's would mean a loss term went
  // missing, not better learning.
  fs::path bf16_run;
  const double map_bf16 = train_and_eval("joint_bf16", joint + " --set model.precision=bf16", &bf16_run);
  const double l32 = final_loss(fp32_run, 500), l16 = final_loss(bf16_run, 500);
  WARN("final loss (last 500 iterations): fp32 " << l32 << ", bf16 " << l16);
  REQUIRE(l16 <= 1.25 * l32);
  REQUIRE(l16 >= 0.60 * l32);
  REQUIRE(map_bf16 >= 0.35);
}
