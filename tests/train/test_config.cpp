#include <catch2/catch.hpp>
#include <fstream>

#include "tests/test_util.h"
#include "train/config.h"

using namespace frcnn;

TEST_CASE("config: defaults are the paper's VGG16 VOC07 setup", "[config]") {
  Config c = default_config();
  REQUIRE(c.model.classes.size() == 20);
  REQUIRE(c.model.num_classes() == 21);
  REQUIRE(c.model.anchors.count() == 9);
  REQUIRE(c.model.rpn.test_post_nms == 300);
  REQUIRE(c.model.rpn.train_pre_nms == 12000);
  REQUIRE(c.model.roi.batch == 128);
  REQUIRE(c.model.roi.bbox_stds == std::vector<float>{0.1f, 0.1f, 0.2f, 0.2f});
  REQUIRE(c.schedule.rpn1.iters == 80000);
  REQUIRE(c.schedule.frcn1.ims_per_batch == 2);
  REQUIRE(c.input.scale == 600);
}

TEST_CASE("config: the dump loads back to the same config", "[config]") {
  auto dir = test::temp_dir("config");
  Config c = default_config({"model.rpn.nms=0.6", "model.classes=[a, b]", "seed=11"});
  // NMS thresholds are doubles, as torchvision's nms takes them (kernels/nms.h): 0.6 is the
  // double 0.6, not 0.6f, and prints back as 0.6.
  REQUIRE(c.model.rpn.nms == 0.6);
  REQUIRE(c.model.test.nms == 0.3);
  REQUIRE(c.model.classes == std::vector<std::string>{"a", "b"});
  std::string text = dump_config(c);
  REQUIRE(text.find("# proposal NMS IoU") != std::string::npos);
  REQUIRE(text.find("  nms: 0.6  #") != std::string::npos);
  REQUIRE(text.find("  nms: 0.3  #") != std::string::npos);
  auto p = (dir / "c.yaml").string();
  std::ofstream(p) << text;
  Config back = load_config(p);
  REQUIRE(dump_config(back) == text);
}

TEST_CASE("config: unknown keys bad values and bad overrides are errors naming the key", "[config]") {
  auto dir = test::temp_dir("config_bad");
  auto p = (dir / "bad.yaml").string();
  std::ofstream(p) << "model:\n  rpn:\n    nsm: 0.7\n";
  REQUIRE_THROWS_WITH(load_config(p), Catch::Contains(p) && Catch::Contains("unknown config key 'model.rpn.nsm'"));
  std::ofstream(p) << "input:\n  scale: big\n";
  REQUIRE_THROWS_WITH(load_config(p), Catch::Contains("'input.scale' has an ill-typed value"));
  std::ofstream(p) << "input: [1, 2\n";
  REQUIRE_THROWS_WITH(load_config(p), Catch::Contains("invalid YAML"));
  REQUIRE_THROWS_WITH(load_config((dir / "none.yaml").string()), Catch::Contains("cannot open"));
  REQUIRE_THROWS_WITH(default_config({"model.rpn.nms"}), Catch::Contains("expected key=value"));
  REQUIRE_THROWS_WITH(default_config({"model.rpn.neg_iou=0.9"}), Catch::Contains("model.rpn.neg_iou"));
  REQUIRE_THROWS_WITH(default_config({"schedule.type=magic"}), Catch::Contains("schedule.type"));
}
