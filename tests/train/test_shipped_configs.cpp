#include <catch2/catch.hpp>

#include "train/config.h"

using namespace frcnn;

TEST_CASE("configs: the shipped configs load and validate", "[config]") {
  Config paper = load_config(FRCNN_SOURCE_DIR "/configs/vgg16_voc07.yaml");
  REQUIRE(dump_config(paper) == dump_config(default_config({"data.root=data/VOCdevkit/VOC2007"})));
  Config tiny = load_config(FRCNN_SOURCE_DIR "/configs/tiny.yaml");
  REQUIRE(tiny.model.backbone.widths.size() == 5);
  REQUIRE(tiny.model.anchors.count() == 9);
  REQUIRE(tiny.input.scale < paper.input.scale);
}
