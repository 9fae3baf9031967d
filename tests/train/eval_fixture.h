// A tiny end-to-end evaluation fixture shared by tests/train/test_evaluate.cpp and the
// binary tests in tests/apps/: a synthetic VOC-layout set (4 trainval + 4 test images of
// 128-192 px), a small randomly initialised detector saved as a whole-model file with the
// input.* metadata (as the trainer writes it) and the matching config as YAML.
// Sizes are chosen so that a detection pass over the 4 test images takes well under a
// second on one CPU core.
#pragma once
#include <filesystem>
#include <fstream>
#include <string>

#include "data/input_convention.h"
#include "data/synth.h"
#include "layers/faster_rcnn.h"
#include "tests/test_util.h"
#include "train/config.h"

namespace frcnn::test {

struct EvalFixture {
  std::filesystem::path dir;      // the fixture's temp folder
  std::filesystem::path voc;      // dir/voc: the synthetic VOC root
  std::filesystem::path weights;  // dir/model.safetensors
  std::filesystem::path config;   // dir/config.yaml (loadable by load_config)
  Config cfg;
  InputConvention conv = InputConvention::caffe();
};

inline Config tiny_eval_config(const std::string& voc_root) {
  Config c;
  ModelConfig& m = c.model;
  m.classes = synth_class_names();
  m.backbone.widths = {8, 16, 16, 32, 32};
  m.anchors.sizes = {16, 32, 64};
  m.rpn.channels = 16;
  m.rpn.test_pre_nms = 300;
  m.rpn.test_post_nms = 50;
  m.rpn.min_size = 8;
  m.roi.fc_dim = 32;
  m.test.max_per_image = 30;
  c.input.scale = 128;
  c.input.max_size = 200;
  c.data.root = voc_root;
  c.data.prefetch = 2;
  return c;
}

inline EvalFixture make_eval_fixture(const std::string& tag, uint64_t seed = 7) {
  EvalFixture f;
  f.dir = temp_dir(tag);
  f.voc = f.dir / "voc";
  SynthOptions so;
  so.out = f.voc.string();
  so.train = 4;
  so.test = 4;
  so.seed = seed;
  so.min_side = 128;
  so.max_side = 192;
  write_synthetic_voc(so);
  f.cfg = tiny_eval_config(f.voc.string());
  f.weights = f.dir / "model.safetensors";
  {
    Context ctx;
    FasterRCNN model(f.cfg.model);
    model.init(ctx, seed, "msra");
    // As frcnn train writes it: the input convention and the effective config.
    auto meta = f.conv.to_metadata();
    meta["config"] = dump_config(f.cfg);
    model.save(f.weights.string(), meta);
  }
  f.config = f.dir / "config.yaml";
  std::ofstream(f.config) << dump_config(f.cfg);
  return f;
}

}  // namespace frcnn::test
