#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <sstream>

#include "train/config.h"

using namespace frcnn;

TEST_CASE("configs: the shipped configs load and validate", "[config]") {
  Config paper = load_config(FRCNN_SOURCE_DIR "/configs/vgg16_voc07.yaml");
  REQUIRE(dump_config(paper) == dump_config(default_config({"data.root=datasets/VOCdevkit/VOC2007"})));
  Config tiny = load_config(FRCNN_SOURCE_DIR "/configs/tiny.yaml");
  REQUIRE(tiny.model.backbone.widths.size() == 5);
  REQUIRE(tiny.model.anchors.count() == 9);
  REQUIRE(tiny.input.scale < paper.input.scale);
}

// The paper config's data.root is where scripts/fetch-voc2007.sh puts VOC 2007 when run
// with its default DEST (DEST/VOCdevkit/VOC2007), so the documented commands agree.
TEST_CASE("configs: the paper config's data root is where fetch-voc2007.sh puts VOC", "[config]") {
  std::ifstream in(FRCNN_SOURCE_DIR "/scripts/fetch-voc2007.sh");
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string script = ss.str();
  std::smatch dest, root;
  REQUIRE(std::regex_search(script, dest, std::regex(R"(\nDEST=\$\{1:-([^}]+)\})")));
  REQUIRE(std::regex_search(script, root, std::regex(R"(\nROOT=(\S+))")));
  const std::string fetched = dest[1].str() + "/" + root[1].str();
  CHECK(fetched == "datasets/VOCdevkit/VOC2007");
  Config paper = load_config(FRCNN_SOURCE_DIR "/configs/vgg16_voc07.yaml");
  REQUIRE(paper.data.root == fetched);
}
