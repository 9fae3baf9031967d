// A tiny end-to-end training setup shared by the trainer tests: a synthetic VOC-layout
// dataset and a config small enough that a whole alt4 schedule runs in seconds.
#pragma once
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/synth.h"
#include "tests/test_util.h"
#include "train/config.h"

namespace frcnn::test {

// A synthetic VOC set at `root` with images of 120..180 pixels a side; returns root.
inline std::string small_voc(const std::filesystem::path& root, int train, int test, uint64_t seed) {
  SynthOptions o;
  o.out = root.string();
  o.train = train;
  o.test = test;
  o.seed = seed;
  o.min_side = 120;
  o.max_side = 180;
  write_synthetic_voc(o);
  return o.out;
}

inline std::string tiny_dataset(int train = 8, int test = 4) {
  static std::string root;  // one per test process
  if (root.empty()) root = small_voc(temp_dir("train_data") / "voc", train, test, 11);
  return root;
}

inline Config tiny_train_config(const std::string& root, const std::string& schedule = "alt4") {
  return default_config({
      "data.root=" + root,
      "model.classes=[circle, square, triangle, cross, ring, diamond]",
      "model.backbone.widths=[4, 8, 8, 16, 16]",
      "model.backbone.frozen_blocks=1",
      "model.anchors.sizes=[24, 48, 96]",
      "model.rpn.channels=8",
      "model.rpn.batch=32",
      "model.rpn.train_pre_nms=300",
      "model.rpn.train_post_nms=60",
      "model.rpn.test_pre_nms=300",
      "model.rpn.test_post_nms=40",
      "model.rpn.min_size=4",
      "model.roi.fc_dim=16",
      "model.roi.batch=16",
      "input.scale=96",
      "input.max_size=160",
      "input.convention=torchvision",
      "solver.base_lr=0.005",
      "schedule.type=" + schedule,
      "schedule.rpn1={iters: 6, step: 4, ims_per_batch: 1}",
      "schedule.frcn1={iters: 6, step: 4, ims_per_batch: 2}",
      "schedule.rpn2={iters: 4, step: 3, ims_per_batch: 1}",
      "schedule.frcn2={iters: 4, step: 3, ims_per_batch: 2}",
      "schedule.joint={iters: 8, step: 6, ims_per_batch: 1}",
      "schedule.proposal_post_nms=60",
      "schedule.log_every=100",
      "schedule.checkpoint_every=3",
  });
}

// (stage, iter, loss) of every record in a metrics.jsonl, and the RPN's part of the loss
// (loss_rpn_cls + loss_rpn_bbox; 0 in a stage that does not train the RPN).
struct MetricRow {
  std::string stage;
  int64_t iter;
  double loss;
  double rpn_loss = 0;
  bool operator==(const MetricRow& o) const { return stage == o.stage && iter == o.iter && loss == o.loss; }
};
inline std::vector<MetricRow> read_metrics(const std::string& path) {
  std::vector<MetricRow> rows;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    rows.push_back({j["stage"], j["iter"], j["loss"], j.value("loss_rpn_cls", 0.0) + j.value("loss_rpn_bbox", 0.0)});
  }
  return rows;
}

}  // namespace frcnn::test
