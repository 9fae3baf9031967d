// The one run configuration: model, input, data, solver, schedule. Every field has a
// default (the paper's VGG16 / VOC 2007 setup) and a one-line comment, both kept in
// ONE place: visit_config() below lists each field once, and loading from YAML,
// `--set key=value` overrides, unknown-key errors and the commented dump printed at
// the start of every run all derive from that list.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "layers/model_config.h"

namespace frcnn {

struct InputConfig {
  int scale = 600;      // shorter image side after resizing
  int max_size = 1000;  // longer side cap
  // Pixel convention when the weights carry none: caffe (BGR, 0-255 minus means) or
  // torchvision (RGB, 0-1, ImageNet mean/std). Converted weights record their own.
  std::string convention = "caffe";
};

struct DataConfig {
  std::string root;                   // VOC-layout folder (JPEGImages, Annotations, ImageSets/Main)
  std::string train_split = "trainval";
  std::string test_split = "test";
  bool use_difficult = false;         // train on objects marked difficult (the paper: no)
  bool flip = true;                   // random horizontal flip in training (p = 0.5)
  int prefetch = 4;                   // images decoded ahead by the loader thread
};

struct SolverConfig {
  float base_lr = 0.001f;      // SGD learning rate
  float momentum = 0.9f;
  float weight_decay = 0.0005f;
  float gamma = 0.1f;          // lr multiplier at each step
  // Biases learn at bias_lr_mult x the lr (py-faster-rcnn's lr_mult: 2) and are decayed at
  // bias_decay_mult x weight_decay. py-faster-rcnn's VGG16 prototxts give biases no
  // decay_mult, so Caffe's default of 1 applies there: its biases are decayed, and so
  // are ours by default (Conv2d/Linear alone would give them 0).
  float bias_lr_mult = 2.f;
  float bias_decay_mult = 1.f;
};

// One training stage: iterations, the lr step, images per batch, and for the stages that
// train the Fast R-CNN head the lower end of the background RoIs' IoU range.
struct StageConfig {
  int iters = 0;
  int step = 0;           // lr *= gamma at this iteration (0: never)
  int ims_per_batch = 1;
  float bg_iou_lo = 0.f;  // head stages: background RoIs have IoU in [this, model.roi.bg_iou_hi)
};

struct ScheduleConfig {
  std::string type = "alt4";             // alt4 (4-step alternating) | joint (approximate joint)
  StageConfig rpn1{80000, 60000, 1};     // stage 1 RPN
  // bg_iou_lo: py-faster-rcnn's BG_THRESH_LO, 0.1 for alt-opt (its default), 0.0 for
  // end-to-end (faster_rcnn_end2end.yml).
  StageConfig frcn1{40000, 30000, 2, 0.1f};  // stage 1 Fast R-CNN
  StageConfig rpn2{80000, 60000, 1};     // stage 2 RPN (conv frozen)
  StageConfig frcn2{40000, 30000, 2, 0.1f};  // stage 2 Fast R-CNN (conv frozen)
  StageConfig joint{70000, 50000, 1, 0.0f};  // approximate joint training
  int proposal_post_nms = 2000;          // proposals per image written for a Fast R-CNN stage (no pre-NMS cap)
  int log_every = 20;                    // iterations between progress lines
  int checkpoint_every = 5000;           // iterations between checkpoints
};

struct Config {
  ModelConfig model;
  InputConfig input;
  DataConfig data;
  SolverConfig solver;
  ScheduleConfig schedule;
  uint64_t seed = 3;              // every random draw derives from it (Philox)
  std::string init = "msra";      // backbone init without ImageNet weights: msra | xavier
};

// Loads a YAML file over the defaults; unknown keys and ill-typed values are errors
// naming the file and the key. `overrides` are "dotted.key=value" (the value is YAML).
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});
// Defaults + overrides, no file.
Config default_config(const std::vector<std::string>& overrides = {});
// The same from YAML text (e.g. the config stored in a model file); `source` names it in
// messages ("model.safetensors (stored config)").
Config config_from_text(const std::string& yaml, const std::string& source,
                        const std::vector<std::string>& overrides = {});
// The effective configuration as commented YAML (loadable by load_config).
std::string dump_config(const Config& c);
// Every key's value as one line of YAML, by dotted key ("model.rpn.nms" -> "0.7").
std::map<std::string, std::string> config_values(const Config& c);
// The keys a trained model's weights depend on: the class list, the layer widths and shapes
// (backbone widths, RPN channels, RoI pool size, fc width), the anchors the RPN's outputs
// are tied to, the regression targets' normalisation, and the input scale it was trained at.
// Changing one of them for a trained model gives wrong detections, or fails to load.
const std::vector<std::string>& weight_dependent_keys();
// The weight-dependent keys whose values differ between `trained` and `wanted`, each as
// "key: trained value -> wanted value"; empty when they agree.
std::vector<std::string> weight_dependent_differences(const Config& trained, const Config& wanted);

// Every key's range and the keys' consistency (intervals >= 1, fractions in [0, 1], finite
// learning rates, unique class names, ...; docs/USAGE.md lists the rules). Throws at the first
// bad value, naming the key, the value and the allowed range. load_config and default_config
// call it, so every command refuses a bad config before doing any work.
void validate_config(const Config& c);

}  // namespace frcnn
