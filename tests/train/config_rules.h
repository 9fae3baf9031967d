// The table of tests/train/test_config_validation.cpp: per numeric config key, values that
// must be refused naming the key and values that must be accepted. Shared with the test that
// runs them through `frcnn config` (tests/apps/test_config_synth_cmd.cpp).
#pragma once
#include <map>
#include <string>
#include <vector>

namespace frcnn::test {

struct Rule {
  std::vector<std::string> bad;   // each refused, naming the key
  std::vector<std::string> good;  // each accepted (on top of the defaults)
};

// Values are YAML, as `--set` takes them. `.nan`, `.inf` and `-.inf` are YAML's non-finite floats.
inline const std::vector<std::string> kNonFinite = {".nan", ".inf", "-.inf"};
inline std::vector<std::string> with_non_finite(std::vector<std::string> v) {
  v.insert(v.end(), kNonFinite.begin(), kNonFinite.end());
  return v;
}
// A fraction in [0, 1].
inline const Rule kFraction = {with_non_finite({"-0.1", "1.5", "1e9", "-1"}), {"0", "0.5", "1"}};

// Every numeric key of the config. An empty `bad` list is a decision too: every value of
// the type is valid (its comment says what <= 0 means).
inline const std::map<std::string, Rule>& rules() {
  static const std::map<std::string, Rule> r = {
      {"model.backbone.widths", {{"[64, 128, 256, 512, 0]", "[64, 128, 256, 512, -1]", "[64, 128]", "[]"},
                                 {"[8, 16, 32, 64, 64]"}}},
      {"model.backbone.frozen_blocks", {{"-1", "6", "100"}, {"0", "5"}}},
      {"model.anchors.stride", {{"0", "-16", "8", "32"}, {"16"}}},
      {"model.anchors.sizes", {{"[]", "[128, 0]", "[-1]", "[.nan]", "[.inf]"}, {"[32]", "[0.5, 1000]"}}},
      {"model.anchors.ratios", {{"[]", "[0.5, 0]", "[-2]", "[.nan]", "[.inf]"}, {"[1]", "[0.25, 4]"}}},
      {"model.rpn.channels", {{"0", "-1"}, {"1", "256"}}},
      // pos_iou below the default neg_iou (0.3) is refused by the ordering check, naming both.
      {"model.rpn.pos_iou", {with_non_finite({"-0.1", "1.5", "0.2"}), {"0.3", "1"}}},
      {"model.rpn.neg_iou", {with_non_finite({"-0.1", "1.5", "0.8"}), {"0", "0.7"}}},
      {"model.rpn.batch", {{"0", "-1"}, {"1", "512"}}},
      {"model.rpn.fg_fraction", {with_non_finite({"0", "-0.1", "1.5"}), {"0.01", "1"}}},
      {"model.rpn.allowed_border", {{"-1", "-100"}, {"0", "1000"}}},
      {"model.rpn.nms", kFraction},
      {"model.rpn.train_pre_nms", {{}, {"-1", "0", "1", "100000"}}},  // <= 0: no cap
      {"model.rpn.train_post_nms", {{"0", "-1"}, {"1", "5000"}}},
      {"model.rpn.test_pre_nms", {{}, {"-1", "0", "1", "100000"}}},  // <= 0: no cap
      {"model.rpn.test_post_nms", {{"0", "-1"}, {"1", "5000"}}},
      {"model.rpn.min_size", {with_non_finite({"-1", "-0.5"}), {"0", "16", "1000"}}},
      {"model.rpn.sigma", {with_non_finite({"0", "-1"}), {"0.1", "3"}}},
      {"model.roi.pool", {{"0", "-7"}, {"1", "14"}}},
      {"model.roi.fc_dim", {{"0", "-1"}, {"1", "1024"}}},
      {"model.roi.dropout", {with_non_finite({"-0.1", "1", "1.5"}), {"0", "0.9"}}},
      // 3 is not divisible by the head stages' 2 images per batch.
      {"model.roi.batch", {{"0", "-1", "3"}, {"2", "64", "256"}}},
      {"model.roi.fg_fraction", kFraction},
      {"model.roi.fg_iou", kFraction},
      // Below the default schedule.frcn1.bg_iou_lo (0.1) is refused by the stage's check.
      {"model.roi.bg_iou_hi", {with_non_finite({"-0.1", "1.5", "0.05"}), {"0.1", "1"}}},
      {"model.roi.bbox_stds", {{"[0.1, 0.1, 0.2, 0]", "[0.1, 0.1, 0.2, -0.2]", "[0.1, 0.1, 0.2, .nan]",
                                "[0.1, 0.1, 0.2, .inf]", "[0.1]", "[]"},
                               {"[1, 1, 1, 1]"}}},
      {"model.roi.sigma", {with_non_finite({"0", "-1"}), {"0.5", "1"}}},
      {"model.test.nms", kFraction},
      {"model.test.score_threshold", kFraction},
      {"model.test.max_per_image", {{}, {"-1", "0", "1", "1000"}}},  // <= 0: no cap
      {"input.scale", {{"0", "-1", "1001"}, {"1", "1000"}}},           // 1001 > input.max_size
      {"input.max_size", {{"0", "-1", "599"}, {"600", "100000"}}},     // 599 < input.scale
      {"data.prefetch", {{"0", "-1"}, {"1", "64"}}},
      {"solver.base_lr", {with_non_finite({"0", "-0.001"}), {"1e-9", "0.01", "10"}}},
      {"solver.momentum", {with_non_finite({"-0.1", "1", "1.5"}), {"0", "0.99"}}},
      {"solver.weight_decay", {with_non_finite({"-0.0005", "-1"}), {"0", "0.1"}}},
      {"solver.gamma", {with_non_finite({"0", "-0.1", "1.5"}), {"0.01", "1"}}},
      {"solver.bias_lr_mult", {with_non_finite({"-1"}), {"0", "2", "10"}}},
      {"solver.bias_decay_mult", {with_non_finite({"-1"}), {"0", "1", "10"}}},
      {"schedule.proposal_post_nms", {{"0", "-1"}, {"1", "300"}}},
      {"schedule.log_every", {{"0", "-1", "-20"}, {"1", "1000000"}}},
      {"schedule.checkpoint_every", {{"0", "-1", "-5000"}, {"1", "1000000"}}},
      {"seed", {{"-1"}, {"0", "18446744073709551615"}}},  // any unsigned 64-bit seed (-1: ill-typed)
  };
  return r;
}

// The per-stage keys, generated for each stage as visit_config does.
inline const std::map<std::string, Rule>& all_rules() {
  static const std::map<std::string, Rule> r = [] {
    std::map<std::string, Rule> all = rules();
    for (const char* s : {"rpn1", "frcn1", "rpn2", "frcn2", "joint"}) {
      const std::string k = std::string("schedule.") + s;
      const bool head = k.find("rpn") == std::string::npos;
      all[k + ".iters"] = {{"-1", "-100"}, {"0", "1", "1000000"}};
      all[k + ".step"] = {{"-1", "-100"}, {"0", "1", "1000000"}};
      // Head stages split model.roi.batch (128) evenly over their images: 3 does not divide it.
      all[k + ".ims_per_batch"] = head ? Rule{{"0", "-1", "3"}, {"1", "2", "128"}} : Rule{{"0", "-1"}, {"1", "3"}};
      // In [0, model.roi.bg_iou_hi] = [0, 0.5].
      if (head) all[k + ".bg_iou_lo"] = {with_non_finite({"-0.1", "0.6", "1.5"}), {"0", "0.5"}};
    }
    return all;
  }();
  return r;
}

}  // namespace frcnn::test
