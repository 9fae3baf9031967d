// A small detector for the model tests: the fixture's VGG widths, 3 classes, small heads,
// no dropout (so a finite-difference objective is deterministic).
#pragma once
#include "layers/model_config.h"

namespace frcnn::test {

inline ModelConfig small_detector_config() {
  ModelConfig m;
  m.classes = {"a", "b", "c"};
  m.backbone.widths = {8, 16, 32, 32, 32};
  m.backbone.frozen_blocks = 0;
  m.anchors.sizes = {24, 48, 96};
  m.rpn.channels = 16;
  m.rpn.batch = 64;
  m.rpn.test_pre_nms = 500;
  m.rpn.test_post_nms = 50;
  m.rpn.min_size = 4;
  m.roi.fc_dim = 32;
  m.roi.dropout = 0;
  m.roi.batch = 32;
  return m;
}

}  // namespace frcnn::test
