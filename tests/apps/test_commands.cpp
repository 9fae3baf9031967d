// The real `frcnn` binary: detect and eval on the tiny synthetic fixture (exit codes,
// output files that decode, errors naming the file, --from-results reproducing the mAP),
// and detect on CUDA against the CPU.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "data/image.h"
#include "data/transforms.h"
#include "engine/safetensors.h"
#include "tests/apps/frcnn_cli.h"
#include "tests/gpu.h"
#include "tests/train/eval_fixture.h"
#include "train/run_lock.h"

using namespace frcnn;
namespace fs = std::filesystem;

namespace {
using namespace frcnn::test;

std::string test_image(const test::EvalFixture& f, int k) {
  VocDataset ds(f.voc.string(), "test", f.cfg.model.classes);
  return ds.record(size_t(k)).image_path;
}

// `frcnn detect` on every image of the fixture with a broken file among them, pipelined
// (--workers 3) and one image at a time (--workers 0): the same detections printed in the
// same order, the same JSON (but the times) and the same PNG bytes, the broken file named.
// `splits`: whose images (the emulated GPU is slow: the CUDA test takes one split).
void check_pipelined_detect(const std::string& device, const std::string& tag, std::vector<const char*> splits) {
  auto f = test::make_eval_fixture(tag);
  std::vector<std::string> images;
  for (const char* split : splits) {
    VocDataset ds(f.voc.string(), split, f.cfg.model.classes);
    for (size_t i = 0; i < ds.size(); ++i) images.push_back(ds.record(i).image_path);
  }
  const fs::path bad = f.dir / "broken.jpg";
  std::ofstream(bad, std::ios::binary) << "\xff\xd8\xff garbage";
  images.insert(images.begin() + 3, bad.string());
  std::string list;
  for (const auto& i : images) list += " " + quote(i);
  auto run = [&](int workers) {
    const fs::path out = f.dir / ("det_w" + std::to_string(workers));
    CmdResult r = run_frcnn(f.dir, "detect --device " + device + " -c " + quote(f.config.string()) + " -w " +
                                       quote(f.weights.string()) + " --workers " + std::to_string(workers) +
                                       " -o " + quote(out.string()) + list);
    INFO(r.out << r.err);
    REQUIRE(r.code != 0);  // the broken file
    REQUIRE(r.err.find(bad.string()) != std::string::npos);
    REQUIRE(r.err.find("1 of " + std::to_string(images.size()) + " image(s) failed") != std::string::npos);
    // The printed detections without the times: the lines that start with two spaces.
    std::string dets;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);)
      if (line.rfind("  ", 0) == 0 || line.find("detection(s)") != std::string::npos)
        dets += line.substr(0, line.find(" | ")) + "\n";
    return std::make_pair(out, dets);
  };
  const auto [seq, seq_lines] = run(0);
  const auto [pipe, pipe_lines] = run(3);
  REQUIRE(seq_lines == pipe_lines);
  REQUIRE(seq_lines.find("detection(s)") != std::string::npos);
  int files = 0;
  for (const auto& p : images) {
    if (p == bad.string()) continue;
    const std::string stem = fs::path(p).stem().string();
    nlohmann::json a = read_json(seq / (stem + ".json")), b = read_json(pipe / (stem + ".json"));
    a.erase("timing_ms");
    b.erase("timing_ms");
    REQUIRE(a == b);
    REQUIRE(slurp_bytes(seq / (stem + ".png")) == slurp_bytes(pipe / (stem + ".png")));
    REQUIRE(!slurp_bytes(seq / (stem + ".png")).empty());
    ++files;
  }
  REQUIRE(files == int(4 * splits.size()));
}

}  // namespace

TEST_CASE("frcnn detect writes json and png per image and times the run", "[apps]") {
  auto f = test::make_eval_fixture("cmd_detect");
  const fs::path out = f.dir / "det";
  const std::string a = test_image(f, 0), b = test_image(f, 1);
  CmdResult r = run_frcnn(f.dir, "detect --device cpu --config " + quote(f.config.string()) + " --weights " +
                                 quote(f.weights.string()) + " --score-threshold 0.1 --out " + quote(out.string()) +
                                 " " + quote(a) + " " + quote(b));
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  REQUIRE(r.out.find("conv ") != std::string::npos);
  REQUIRE(r.out.find("region-wise") != std::string::npos);
  REQUIRE(r.out.find("mean over 1 image(s) (first image, the warm-up, excluded)") != std::string::npos);
  REQUIRE(r.out.find(" fps") != std::string::npos);
  REQUIRE(fs::exists(out / "config.yaml"));
  int total = 0;
  for (const auto& p : {a, b}) {
    const std::string stem = fs::path(p).stem().string();
    auto j = read_json(out / (stem + ".json"));
    Image orig = load_image(p);
    REQUIRE(j["width"].get<int>() == orig.width);
    REQUIRE(j["height"].get<int>() == orig.height);
    REQUIRE(j["timing_ms"]["total"].get<double>() > 0.0);
    REQUIRE(j["timing_ms"]["total"].get<double>() >= j["timing_ms"]["conv"].get<double>());
    REQUIRE(j["score_threshold"].get<double>() == Approx(0.1));
    for (const auto& d : j["detections"]) {
      REQUIRE(d["score"].get<double>() >= 0.1 - 1e-6);
      const int label = d["label"].get<int>();
      REQUIRE((label >= 1 && label <= 6));
      REQUIRE(d["class"].get<std::string>() == f.cfg.model.classes[size_t(label - 1)]);
      auto box = d["box"];
      REQUIRE(box.size() == 4);
      REQUIRE(box[0].get<double>() >= 0.0);
      REQUIRE(box[2].get<double>() <= orig.width);
      REQUIRE(box[0].get<double>() <= box[2].get<double>());
      ++total;
    }
    Image png = load_image((out / (stem + ".png")).string());
    REQUIRE(png.width == orig.width);
    REQUIRE(png.height == orig.height);
    if (!j["detections"].empty()) REQUIRE(png.data != orig.data);  // boxes were drawn
  }
  REQUIRE(total > 0);  // a random head scores about 1/7 per class
}

TEST_CASE("frcnn detect names an unreadable image carries on and exits non-zero", "[apps]") {
  auto f = test::make_eval_fixture("cmd_detect_bad");
  const fs::path bad = f.dir / "broken.jpg";
  std::ofstream(bad, std::ios::binary) << "\xff\xd8\xff garbage";
  const fs::path missing = f.dir / "no_such_image.png";
  const fs::path out = f.dir / "det";
  const std::string good = test_image(f, 2);
  CmdResult r = run_frcnn(f.dir, "detect --device cpu -c " + quote(f.config.string()) + " -w " + quote(f.weights.string()) +
                                 " -o " + quote(out.string()) + " " + quote(bad.string()) + " " + quote(good) + " " +
                                 quote(missing.string()));
  REQUIRE(r.code != 0);
  REQUIRE(r.err.find(bad.string()) != std::string::npos);
  REQUIRE(r.err.find(missing.string()) != std::string::npos);
  REQUIRE(r.err.find("2 of 3 image(s) failed") != std::string::npos);
  // The good image in between was still processed.
  REQUIRE(fs::exists(out / (fs::path(good).stem().string() + ".json")));
  REQUIRE(r.out.find("includes the warm-up") != std::string::npos);
}

TEST_CASE("frcnn detect refuses ImageNet-only weights and mismatched classes", "[apps]") {
  auto f = test::make_eval_fixture("cmd_detect_weights");
  const fs::path imagenet = f.dir / "vgg16_imagenet.safetensors";
  save_safetensors(imagenet.string(), {{"conv1_1.weight", Tensor::zeros({8, 3, 3, 3})}});
  const std::string img = test_image(f, 0);
  CmdResult r = run_frcnn(f.dir, "detect --device cpu -c " + quote(f.config.string()) + " -w " + quote(imagenet.string()) +
                                 " " + quote(img));
  REQUIRE(r.code != 0);
  REQUIRE(r.err.find("not a frcnn detector") != std::string::npos);

  CmdResult r2 = run_frcnn(f.dir, "detect --device cpu -c " + quote(f.config.string()) +
                                  " --set 'model.classes=[a, b, c, d, e, f]' -w " + quote(f.weights.string()) + " " +
                                  quote(img));
  REQUIRE(r2.code != 0);
  REQUIRE(r2.err.find("classes") != std::string::npos);
}

TEST_CASE("frcnn eval runs a split and --from-results reproduces its mAP", "[apps]") {
  auto f = test::make_eval_fixture("cmd_eval");
  const fs::path out = f.dir / "eval", again = f.dir / "rescored";
  CmdResult r = run_frcnn(f.dir, "eval --device cpu -c " + quote(f.config.string()) + " -w " + quote(f.weights.string()) +
                                 " --data " + quote(f.voc.string()) + " --split test --out " + quote(out.string()));
  REQUIRE(r.code == 0);
  REQUIRE(r.out.find("mAP") != std::string::npos);  // the AP table
  auto ev = read_json(out / "eval.json");
  const double map = ev["map"].get<double>();
  REQUIRE(map >= 0.0);
  REQUIRE(map <= 1.0);
  REQUIRE(ev["num_images"].get<int>() == 4);
  REQUIRE(fs::exists(out / "detections.json"));
  REQUIRE(fs::exists(out / "config.yaml"));
  REQUIRE(load_image((out / "pr_all.png").string()).width > 0);
  for (const auto& c : f.cfg.model.classes) REQUIRE(fs::exists(out / "results" / ("comp4_det_test_" + c + ".txt")));

  CmdResult r2 = run_frcnn(f.dir, "eval -c " + quote(f.config.string()) + " --from-results " + quote(out.string()) +
                                  " --out " + quote(again.string()));
  REQUIRE(r2.code == 0);
  REQUIRE(read_json(again / "eval.json")["map"].get<double>() == map);

  // --max-images and the VOC2010 metric; a re-score picks the image count up from eval.json.
  const fs::path part = f.dir / "part", part2 = f.dir / "part2";
  CmdResult r3 = run_frcnn(f.dir, "eval --device cpu -c " + quote(f.config.string()) + " -w " + quote(f.weights.string()) +
                                  " --max-images 2 --metric voc2010 --out " + quote(part.string()));
  REQUIRE(r3.code == 0);
  auto pe = read_json(part / "eval.json");
  REQUIRE(pe["num_images"].get<int>() == 2);
  REQUIRE(pe["metric"].get<std::string>() == "voc10_area");
  CmdResult r4 = run_frcnn(f.dir, "eval -c " + quote(f.config.string()) + " --metric voc2010 --from-results " +
                                  quote(part.string()) + " --out " + quote(part2.string()));
  REQUIRE(r4.code == 0);
  auto pe2 = read_json(part2 / "eval.json");
  REQUIRE(pe2["num_images"].get<int>() == 2);
  REQUIRE(pe2["map"].get<double>() == pe["map"].get<double>());
}

TEST_CASE("detect and eval run with the model's stored config and refuse weight-dependent overrides", "[apps]") {
  auto f = test::make_eval_fixture("cmd_model_config");
  const std::string img = test_image(f, 0), w = " -w " + quote(f.weights.string()) + " ";
  // No -c: the stored config (classes, scale, data.root) is used and the run says so.
  CmdResult r = run_frcnn(f.dir, "detect --device cpu" + w + quote(img));
  REQUIRE(r.code == 0);
  REQUIRE_THAT(r.err, Catch::Contains("the config stored in " + f.weights.string()));
  // Without --out there is no config.yaml to write: one line, the dump only at debug level.
  REQUIRE(r.err.find("# proposal NMS IoU") == std::string::npos);
  CmdResult dbg = run_frcnn(f.dir, "detect --device cpu --log-level debug" + w + quote(img));
  REQUIRE(dbg.code == 0);
  REQUIRE_THAT(dbg.err, Catch::Contains("# proposal NMS IoU"));
  const fs::path ev = f.dir / "ev";
  CmdResult e = run_frcnn(f.dir, "eval --device cpu" + w + "--out " + quote(ev.string()));
  REQUIRE(e.code == 0);
  REQUIRE(read_json(ev / "eval.json")["num_images"].get<int>() == 4);  // the stored data.root's test split
  // --from-results without -c: the earlier run's config.yaml.
  CmdResult e2 = run_frcnn(f.dir, "eval --from-results " + quote(ev.string()) + " --out " + quote((f.dir / "ev2").string()));
  REQUIRE(e2.code == 0);
  REQUIRE(read_json(f.dir / "ev2" / "eval.json")["map"] == read_json(ev / "eval.json")["map"]);

  // Keys the weights do not depend on can change.
  REQUIRE(run_frcnn(f.dir, "detect --device cpu --set model.test.nms=0.5 --set model.rpn.test_post_nms=50" + w +
                               quote(img))
              .code == 0);
  // Keys they depend on cannot, from --set or from another --config, in detect and eval alike;
  // the error lists each key with both values and the way out.
  for (const std::string& bad : {std::string("--set input.scale=150"), std::string("--set 'model.anchors.sizes=[64]'")}) {
    CmdResult d = run_frcnn(f.dir, "detect --device cpu " + bad + w + quote(img));
    REQUIRE(d.code != 0);
    REQUIRE_THAT(d.err, Catch::Contains(f.weights.string()) && Catch::Contains("--override-model-config") &&
                            Catch::Contains(bad.find("scale") != std::string::npos ? "input.scale: 128 -> 150"
                                                                                   : "model.anchors.sizes"));
    CmdResult ee = run_frcnn(f.dir, "eval --device cpu " + bad + w + "--out " + quote((f.dir / "e3").string()));
    REQUIRE(ee.code != 0);
    REQUIRE_THAT(ee.err, Catch::Contains("--override-model-config"));
  }
  const fs::path other = f.dir / "other.yaml";
  {
    Config c = f.cfg;
    c.model.roi.bbox_stds = {0.2f, 0.2f, 0.1f, 0.1f};
    std::ofstream(other) << dump_config(c);
  }
  CmdResult o = run_frcnn(f.dir, "detect --device cpu -c " + quote(other.string()) + w + quote(img));
  REQUIRE(o.code != 0);
  REQUIRE_THAT(o.err, Catch::Contains("model.roi.bbox_stds"));
  // Asked for explicitly, it runs, with a warning.
  CmdResult ok = run_frcnn(f.dir, "detect --device cpu --override-model-config --set input.scale=160" + w + quote(img));
  REQUIRE(ok.code == 0);
  REQUIRE_THAT(ok.err, Catch::Contains("input.scale: 128 -> 160") && Catch::Contains("running with them"));
  CmdResult help = run_frcnn(f.dir, "detect --help");
  REQUIRE_THAT(help.out, Catch::Contains("--override-model-config") && Catch::Contains("stored in the model file"));
}

TEST_CASE("detect and eval lock their --out folder and remove a dead run's temp files", "[apps]") {
  auto f = test::make_eval_fixture("cmd_out_lock");
  const std::string img = test_image(f, 0), w = " -w " + quote(f.weights.string()) + " ";
  const fs::path out = f.dir / "out";
  {
    OutputFolderLock held(out.string());  // as another run would hold it
    for (const std::string& cmd : {"detect --device cpu" + w + "--out " + quote(out.string()) + " " + quote(img),
                                   "eval --device cpu" + w + "--out " + quote(out.string())}) {
      CmdResult r = run_frcnn(f.dir, cmd);
      REQUIRE(r.code == 1);
      REQUIRE_THAT(r.err, Catch::Contains(out.string() + ": another frcnn run (pid " + std::to_string(::getpid()) +
                                          ") is using this output folder"));
    }
    REQUIRE_FALSE(fs::exists(out / "eval.json"));
  }
  // A temp file of a process that died mid-write (its pid names no process) goes; others stay.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) ::_exit(0);
  REQUIRE(::waitpid(child, nullptr, 0) == child);
  const fs::path stale = out / ("eval.json.tmp." + std::to_string(child)), mine = out / "notes.txt";
  std::ofstream(stale) << "torn";
  std::ofstream(mine) << "keep";
  REQUIRE(run_frcnn(f.dir, "eval --device cpu" + w + "--out " + quote(out.string())).code == 0);
  REQUIRE_FALSE(fs::exists(stale));
  REQUIRE(fs::exists(mine));
  REQUIRE(fs::exists(out / "eval.json"));
}

TEST_CASE("frcnn eval without weights or with a bad split fails clearly", "[apps]") {
  auto f = test::make_eval_fixture("cmd_eval_bad");
  CmdResult r = run_frcnn(f.dir, "eval -c " + quote(f.config.string()) + " --out " + quote((f.dir / "e").string()));
  REQUIRE(r.code != 0);
  REQUIRE(r.err.find("--weights") != std::string::npos);
  CmdResult r2 = run_frcnn(f.dir, "eval --device cpu -c " + quote(f.config.string()) + " -w " + quote(f.weights.string()) +
                                  " --split nosuch --out " + quote((f.dir / "e").string()));
  REQUIRE(r2.code != 0);
  REQUIRE(r2.err.find("nosuch") != std::string::npos);
}

TEST_CASE("detect on CUDA matches the CPU", "[apps][gpu]") {
  FRCNN_REQUIRE_GPU();
  auto f = test::make_eval_fixture("cmd_detect_gpu");
  Context cpu;
  Context gpu(Device::cuda(0));
  FasterRCNN a(f.cfg.model), b(f.cfg.model);
  a.load(cpu, f.weights.string());
  // Sharper class scores than the random init's near-uniform ones, so ranks and the NMS
  // are not decided by float rounding: scale cls_score's weights up.
  for (Param* p : a.params())
    if (p->name == "cls_score.weight") {
      std::vector<float> w = p->value.to_vector<float>();
      for (float& v : w) v *= 300.f;
      p->value.copy_from(Tensor::from_vector<float>(p->value.shape(), w));
    }
  const fs::path sharp = f.dir / "sharp.safetensors";
  a.save(sharp.string(), f.conv.to_metadata());
  a.load(cpu, sharp.string());
  b.to(gpu);
  b.load(gpu, sharp.string());

  int compared = 0;
  for (int k = 0; k < 4; ++k) {
    Image img = load_image(test_image(f, k));
    float scale = 1.f;
    Tensor x = prepare_image(img, f.cfg.input.scale, f.cfg.input.max_size, f.conv, &scale);
    DetectResult rc = a.detect(cpu, x, scale);
    DetectResult rg = b.detect(gpu, x.to(gpu.device(), gpu.stream()), scale);
    REQUIRE(rg.boxes.device().is_cpu());
    REQUIRE(rc.num_proposals == rg.num_proposals);
    // a score within 1e-3 and a box within 0.05 px (+1e-4 relative)
    compared += test::require_same_detections(rc.boxes, rc.scores, rc.labels, rg.boxes, rg.scores, rg.labels, 1e-3f,
                                              0.05f, 1e-4f, "image " + std::to_string(k));
  }
  REQUIRE(compared > 0);
}

TEST_CASE("frcnn detect pipelined gives the one-at-a-time outputs", "[apps]") {
  check_pipelined_detect("cpu", "cmd_detect_pipe", {"trainval", "test"});
}

TEST_CASE("frcnn detect pipelined on CUDA gives the one-at-a-time outputs", "[apps][gpu]") {
  FRCNN_REQUIRE_GPU();
  check_pipelined_detect("cuda", "cmd_detect_pipe_gpu", {"test"});
}
