#include "train/config.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <functional>
#include <set>
#include <sstream>
#include <stdexcept>

#include "engine/log.h"

namespace frcnn {

namespace {

// Lists every field once: v(path, reference, comment).
template <class V>
void visit_config(Config& c, V&& v) {
  ModelConfig& m = c.model;
  v("model.classes", m.classes, "object classes; background is the implicit label 0");
  v("model.precision", m.precision,
    "convolutions and fully connected layers: fp32 | tf32 | bf16 (operands rounded, FP32 accumulate); the rest is fp32");
  v("model.backbone.widths", m.backbone.widths, "output channels of VGG16 conv blocks 1..5");
  v("model.backbone.frozen_blocks", m.backbone.frozen_blocks, "conv blocks that never train (the paper: 2)");
  v("model.backbone.conv_backend", m.backbone.conv_backend, "CUDA convolution: own | cudnn");
  v("model.backbone.deterministic", m.backbone.deterministic, "cuDNN uses only deterministic algorithms");
  v("model.anchors.stride", m.anchors.stride, "feature stride of conv5_3");
  v("model.anchors.sizes", m.anchors.sizes, "anchor sides in pixels (sqrt of area)");
  v("model.anchors.ratios", m.anchors.ratios, "anchor aspect ratios (height / width)");
  v("model.rpn.channels", m.rpn.channels, "width of the RPN 3x3 conv");
  v("model.rpn.pos_iou", m.rpn.pos_iou, "anchor positive at IoU >= this (plus each GT's best anchor)");
  v("model.rpn.neg_iou", m.rpn.neg_iou, "anchor negative below this IoU");
  v("model.rpn.batch", m.rpn.batch, "anchors sampled per image");
  v("model.rpn.fg_fraction", m.rpn.fg_fraction, "largest share of positives in the anchor batch");
  v("model.rpn.allowed_border", m.rpn.allowed_border, "anchors crossing the image border by more are ignored");
  v("model.rpn.nms", m.rpn.nms, "proposal NMS IoU");
  v("model.rpn.train_pre_nms", m.rpn.train_pre_nms, "proposals before NMS when training the RPN (<=0: no cap)");
  v("model.rpn.train_post_nms", m.rpn.train_post_nms, "proposals after NMS when training");
  v("model.rpn.test_pre_nms", m.rpn.test_pre_nms, "proposals before NMS at test time (<=0: no cap)");
  v("model.rpn.test_post_nms", m.rpn.test_post_nms, "proposals after NMS at test time");
  v("model.rpn.min_size", m.rpn.min_size, "smallest proposal side, original-image pixels");
  v("model.rpn.sigma", m.rpn.sigma, "smooth-L1 sigma of the RPN box loss");
  v("model.roi.pool", m.roi.pool, "RoI max-pool output size");
  v("model.roi.fc_dim", m.roi.fc_dim, "fc6 and fc7 width");
  v("model.roi.dropout", m.roi.dropout, "dropout after fc6 and fc7 in training");
  v("model.roi.batch", m.roi.batch,
    "RoIs sampled per minibatch, split evenly over its images (py-faster-rcnn: 128, so 64 per image with 2)");
  v("model.roi.fg_fraction", m.roi.fg_fraction, "foreground share of each image's RoI batch");
  v("model.roi.fg_iou", m.roi.fg_iou, "RoI is foreground at IoU >= this");
  v("model.roi.bg_iou_hi", m.roi.bg_iou_hi, "RoI is background at IoU in [the stage's bg_iou_lo, this)");
  v("model.roi.bbox_stds", m.roi.bbox_stds, "normalisation of the head's regression targets");
  v("model.roi.sigma", m.roi.sigma, "smooth-L1 sigma of the head box loss");
  v("model.test.nms", m.test.nms, "per-class NMS IoU of the final detections");
  v("model.test.score_threshold", m.test.score_threshold, "detections scoring below are dropped");
  v("model.test.max_per_image", m.test.max_per_image, "detections kept per image (<=0: no cap)");
  v("model.test.cuda_graphs", m.test.cuda_graphs,
    "CUDA: capture detect's GPU work once per input size and replay it (false: queue it eagerly, for debugging)");
  v("input.scale", c.input.scale, "shorter image side after resizing");
  v("input.max_size", c.input.max_size, "cap on the longer side");
  v("input.convention", c.input.convention, "pixels when weights carry no convention: caffe | torchvision");
  v("data.root", c.data.root, "VOC-layout dataset folder");
  v("data.train_split", c.data.train_split, "ImageSets/Main split used for training");
  v("data.test_split", c.data.test_split, "split used for evaluation");
  v("data.use_difficult", c.data.use_difficult, "train on objects marked difficult");
  v("data.flip", c.data.flip, "random horizontal flips in training");
  v("data.prefetch", c.data.prefetch, "images decoded ahead of the trainer");
  v("solver.base_lr", c.solver.base_lr, "SGD learning rate");
  v("solver.momentum", c.solver.momentum, "SGD momentum");
  v("solver.weight_decay", c.solver.weight_decay, "L2 weight decay (biases: times bias_decay_mult)");
  v("solver.gamma", c.solver.gamma, "lr multiplier at each stage's step");
  v("solver.bias_lr_mult", c.solver.bias_lr_mult, "bias learning-rate multiplier");
  v("solver.bias_decay_mult", c.solver.bias_decay_mult,
    "bias weight-decay multiplier (py-faster-rcnn: Caffe's default 1, its prototxts set none)");
  auto stage = [&](const std::string& name, StageConfig& s, const std::string& what, bool trains_head) {
    v("schedule." + name + ".iters", s.iters, what + ": iterations");
    v("schedule." + name + ".step", s.step, what + ": lr step iteration (0: none)");
    v("schedule." + name + ".ims_per_batch", s.ims_per_batch, what + ": images per batch");
    if (trains_head)
      v("schedule." + name + ".bg_iou_lo", s.bg_iou_lo,
        what + ": background RoIs have IoU in [this, model.roi.bg_iou_hi)");
  };
  v("schedule.type", c.schedule.type, "alt4 (4-step alternating) | joint (approximate joint)");
  stage("rpn1", c.schedule.rpn1, "stage 1 RPN", false);
  stage("frcn1", c.schedule.frcn1, "stage 1 Fast R-CNN", true);
  stage("rpn2", c.schedule.rpn2, "stage 2 RPN", false);
  stage("frcn2", c.schedule.frcn2, "stage 2 Fast R-CNN", true);
  stage("joint", c.schedule.joint, "approximate joint training", true);
  v("schedule.proposal_post_nms", c.schedule.proposal_post_nms, "proposals per image for Fast R-CNN stages");
  v("schedule.log_every", c.schedule.log_every, "iterations between progress lines");
  v("schedule.checkpoint_every", c.schedule.checkpoint_every, "iterations between checkpoints");
  v("seed", c.seed, "seed of every random draw");
  v("init", c.init, "backbone init without ImageNet weights: msra | xavier");
}

std::vector<std::string> split_path(const std::string& p) {
  std::vector<std::string> parts;
  std::stringstream ss(p);
  std::string s;
  while (std::getline(ss, s, '.')) parts.push_back(s);
  return parts;
}

// Node at `path` inside `root`, or an undefined node.
YAML::Node find(const YAML::Node& root, const std::string& path) {
  YAML::Node n = YAML::Clone(root);
  for (const auto& part : split_path(path)) {
    if (!n.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    YAML::Node child = n[part];
    if (!child.IsDefined()) return YAML::Node(YAML::NodeType::Undefined);
    n = child;
  }
  return n;
}

// Every leaf path in `n` ("a.b.c"), for the unknown-key check.
void leaf_paths(const YAML::Node& n, const std::string& prefix, std::vector<std::string>& out) {
  if (n.IsMap()) {
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string k = it->first.as<std::string>();
      leaf_paths(it->second, prefix.empty() ? k : prefix + "." + k, out);
    }
  } else {
    out.push_back(prefix);
  }
}

// Sets `path` to `value` (parsed as YAML) inside root, creating maps on the way.
void set_path(YAML::Node& root, const std::string& path, const std::string& value) {
  auto parts = split_path(path);
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next = chain.back()[parts[i]];
    if (!next.IsDefined() || !next.IsMap()) {
      chain.back()[parts[i]] = YAML::Node(YAML::NodeType::Map);
      next = chain.back()[parts[i]];
    }
    chain.push_back(next);
  }
  chain.back()[parts.back()] = YAML::Load(value);
}

template <class T>
std::string yaml_value(const T& v) {
  YAML::Emitter e;
  e.SetFloatPrecision(7);    // 0.7f prints as 0.7, and reads back as the same float
  e.SetDoublePrecision(15);  // the NMS thresholds: 0.3 prints as 0.3, not 0.29999999999999999
  e << YAML::Flow << v;
  return e.c_str();
}

// Configs written before the bf16 precision had model.backbone.math (fp32 | tf32), also
// inside older model files: read it as model.precision, with a warning.
YAML::Node migrate(const YAML::Node& in, const std::string& source) {
  const YAML::Node old = find(in, "model.backbone.math");
  if (!old.IsDefined()) return in;
  YAML::Node root = YAML::Clone(in);
  const std::string v = old.IsScalar() ? old.as<std::string>() : yaml_value(old);
  root["model"]["backbone"].remove("math");
  if (root["model"]["backbone"].size() == 0) root["model"].remove("backbone");
  if (!find(root, "model.precision").IsDefined()) root["model"]["precision"] = old;
  log_warn(source + ": model.backbone.math is now model.precision (read as model.precision: " + v + ")");
  return root;
}

Config from_yaml(const YAML::Node& root_in, const std::string& source) {
  const YAML::Node root = migrate(root_in, source);
  Config c;
  std::set<std::string> known;
  visit_config(c, [&](const std::string& path, auto& field, const std::string&) {
    known.insert(path);
    YAML::Node n = find(root, path);
    if (!n.IsDefined() || n.IsNull()) return;
    using T = std::decay_t<decltype(field)>;
    try {
      field = n.as<T>();
    } catch (const YAML::Exception&) {
      throw std::runtime_error(source + ": '" + path + "' has an ill-typed value '" + yaml_value(n) + "'");
    }
  });
  std::vector<std::string> leaves;
  if (root.IsDefined() && !root.IsNull()) {
    if (!root.IsMap()) throw std::runtime_error(source + ": the config is not a YAML map");
    try {
      leaf_paths(root, "", leaves);
    } catch (const YAML::Exception& e) {  // a complex key ("? {a: 1}: ...") has no name (found by fuzzing)
      throw std::runtime_error(source + ": a key that is not a plain name (" + e.what() + ")");
    }
  }
  for (const auto& p : leaves)
    if (!known.count(p)) throw std::runtime_error(source + ": unknown config key '" + p + "'");
  validate_config(c);
  return c;
}

Config build(YAML::Node root, const std::string& source, const std::vector<std::string>& overrides) {
  for (const auto& o : overrides) {
    auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0)
      throw std::runtime_error("--set '" + o + "': expected key=value (e.g. model.rpn.nms=0.6)");
    // An empty value is YAML null, which from_yaml reads as "not given": the key would
    // silently keep its default.
    if (o.find_first_not_of(" \t", eq + 1) == std::string::npos)
      throw std::runtime_error("--set '" + o + "': empty value for '" + o.substr(0, eq) +
                               "'; give one (e.g. model.rpn.nms=0.6)");
    try {
      set_path(root, o.substr(0, eq), o.substr(eq + 1));
    } catch (const YAML::Exception& e) {
      throw std::runtime_error("--set '" + o + "': " + e.what());
    }
  }
  return from_yaml(root, source);
}

}  // namespace

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw std::runtime_error(path + ": cannot open config file");
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(path + ": invalid YAML: " + e.what());
  }
  return build(root, path, overrides);
}

Config config_from_text(const std::string& yaml, const std::string& source,
                        const std::vector<std::string>& overrides) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(source + ": invalid YAML: " + e.what());
  }
  return build(root, source, overrides);
}

Config default_config(const std::vector<std::string>& overrides) {
  return build(YAML::Node(YAML::NodeType::Map), "defaults", overrides);
}

std::map<std::string, std::string> config_values(const Config& cfg) {
  Config c = cfg;  // visit_config takes a mutable reference; nothing is changed
  std::map<std::string, std::string> values;
  visit_config(c, [&](const std::string& path, auto& field, const std::string&) { values[path] = yaml_value(field); });
  return values;
}

const std::vector<std::string>& weight_dependent_keys() {
  static const std::vector<std::string> keys = {
      "model.classes",        "model.backbone.widths", "model.anchors.stride", "model.anchors.sizes",
      "model.anchors.ratios", "model.rpn.channels",    "model.roi.pool",       "model.roi.fc_dim",
      "model.roi.bbox_stds",  "input.scale",           "input.max_size"};
  return keys;
}

std::vector<std::string> weight_dependent_differences(const Config& trained, const Config& wanted) {
  const auto a = config_values(trained), b = config_values(wanted);
  std::vector<std::string> diffs;
  for (const auto& key : weight_dependent_keys())
    if (a.at(key) != b.at(key)) diffs.push_back(key + ": " + a.at(key) + " -> " + b.at(key));
  return diffs;
}

std::string dump_config(const Config& cfg) {
  Config c = cfg;  // visit_config takes a mutable reference; nothing is changed
  std::ostringstream os;
  std::vector<std::string> open;  // the map path currently written
  visit_config(c, [&](const std::string& path, auto& field, const std::string& comment) {
    auto parts = split_path(path);
    size_t common = 0;
    while (common < open.size() && common + 1 < parts.size() && open[common] == parts[common]) ++common;
    open.resize(common);
    for (size_t i = common; i + 1 < parts.size(); ++i) {
      os << std::string(2 * i, ' ') << parts[i] << ":\n";
      open.push_back(parts[i]);
    }
    os << std::string(2 * (parts.size() - 1), ' ') << parts.back() << ": " << yaml_value(field) << "  # " << comment
       << "\n";
  });
  return os.str();
}

namespace {

// The checks below name the key, the value as YAML prints it and the allowed range. Every
// comparison is written so that NaN fails it (NaN compares false), and the float ranges that
// are open above say "finite": an inf learning rate or sigma would turn the run into NaNs
// hours later instead of failing here.
[[noreturn]] void refuse(const std::string& key, const std::string& value, const std::string& allowed) {
  throw std::runtime_error("config: '" + key + "' is " + value + "; must be " + allowed);
}

template <class T>
std::string num(T v) {
  return yaml_value(v);
}

void at_least(const std::string& key, int64_t v, int64_t lo) {
  if (!(v >= lo)) refuse(key, std::to_string(v), ">= " + std::to_string(lo));
}

void int_in(const std::string& key, int64_t v, int64_t lo, int64_t hi) {
  if (!(v >= lo && v <= hi)) refuse(key, std::to_string(v), "in " + std::to_string(lo) + ".." + std::to_string(hi));
}

// In [0, 1]; open_hi excludes 1, open_lo excludes 0.
void fraction(const std::string& key, double v, bool open_hi = false, bool open_lo = false) {
  const bool ok = (open_lo ? v > 0 : v >= 0) && (open_hi ? v < 1 : v <= 1);
  if (!ok) refuse(key, num(v), std::string("in ") + (open_lo ? "(0" : "[0") + ", 1" + (open_hi ? ")" : "]"));
}

void positive(const std::string& key, double v) {
  if (!(std::isfinite(v) && v > 0)) refuse(key, num(v), "finite and > 0");
}

void non_negative(const std::string& key, double v) {
  if (!(std::isfinite(v) && v >= 0)) refuse(key, num(v), "finite and >= 0");
}

void positive_list(const std::string& key, const std::vector<float>& v) {
  if (v.empty()) refuse(key, "[]", "a non-empty list of finite values > 0");
  for (size_t i = 0; i < v.size(); ++i) positive(key + "[" + std::to_string(i) + "]", v[i]);
}

}  // namespace

void validate_config(const Config& c) {
  auto need = [](bool ok, const std::string& key, const std::string& what) {
    if (!ok) throw std::runtime_error("config: '" + key + "' " + what);
  };
  const ModelConfig& m = c.model;

  // Classes: label k is classes[k-1] everywhere (result file names, the weights' class list),
  // so a repeated name would make two labels indistinguishable, and background is label 0.
  need(!m.classes.empty(), "model.classes", "must list at least one class");
  std::set<std::string> seen;
  for (const auto& name : m.classes) {
    // Names become file names (comp4_det_<split>_<class>.txt) and lines of classes.txt.
    need(!name.empty() && name.find_first_of("/\\\n\r\t") == std::string::npos, "model.classes",
         "has the name '" + name + "'; names must be non-empty, without '/', '\\', tabs or line breaks");
    need(name != "background" && name != "__background__", "model.classes",
         "has the reserved name '" + name + "'; background is the implicit label 0, do not list it");
    need(seen.insert(name).second, "model.classes", "lists '" + name + "' twice; names must be unique");
  }

  need(m.backbone.widths.size() == 5, "model.backbone.widths",
       "is " + num(m.backbone.widths) + "; must have 5 entries (conv blocks 1..5)");
  for (size_t i = 0; i < m.backbone.widths.size(); ++i)
    at_least("model.backbone.widths[" + std::to_string(i) + "]", m.backbone.widths[i], 1);
  int_in("model.backbone.frozen_blocks", m.backbone.frozen_blocks, 0, 5);
  need(m.backbone.conv_backend == "own" || m.backbone.conv_backend == "cudnn", "model.backbone.conv_backend",
       "must be own or cudnn");
  need(m.precision == "fp32" || m.precision == "tf32" || m.precision == "bf16", "model.precision",
       "must be fp32, tf32 or bf16");

  if (m.anchors.stride != 16)
    refuse("model.anchors.stride", std::to_string(m.anchors.stride), "16 (four 2x2 pools of VGG16)");
  positive_list("model.anchors.sizes", m.anchors.sizes);
  positive_list("model.anchors.ratios", m.anchors.ratios);

  at_least("model.rpn.channels", m.rpn.channels, 1);
  fraction("model.rpn.pos_iou", m.rpn.pos_iou);
  fraction("model.rpn.neg_iou", m.rpn.neg_iou);
  if (m.rpn.neg_iou > m.rpn.pos_iou)
    refuse("model.rpn.neg_iou", num(m.rpn.neg_iou), "<= model.rpn.pos_iou (" + num(m.rpn.pos_iou) + ")");
  at_least("model.rpn.batch", m.rpn.batch, 1);
  // 0 would sample no positive anchor: the RPN's box loss would never train.
  fraction("model.rpn.fg_fraction", m.rpn.fg_fraction, /*open_hi=*/false, /*open_lo=*/true);
  // Negative would require anchors to lie that far inside the image, which the rule
  // "crossing the border by more are ignored" does not mean.
  at_least("model.rpn.allowed_border", m.rpn.allowed_border, 0);
  fraction("model.rpn.nms", m.rpn.nms);
  // train_pre_nms / test_pre_nms: every int is valid, <= 0 means no cap (kernels/proposals.h).
  at_least("model.rpn.train_post_nms", m.rpn.train_post_nms, 1);
  at_least("model.rpn.test_post_nms", m.rpn.test_post_nms, 1);
  non_negative("model.rpn.min_size", m.rpn.min_size);
  positive("model.rpn.sigma", m.rpn.sigma);  // the smooth-L1 divides by sigma^2

  at_least("model.roi.pool", m.roi.pool, 1);
  at_least("model.roi.fc_dim", m.roi.fc_dim, 1);
  fraction("model.roi.dropout", m.roi.dropout, /*open_hi=*/true);  // 1 would zero every activation
  at_least("model.roi.batch", m.roi.batch, 1);
  fraction("model.roi.fg_fraction", m.roi.fg_fraction);
  fraction("model.roi.fg_iou", m.roi.fg_iou);
  fraction("model.roi.bg_iou_hi", m.roi.bg_iou_hi);
  need(m.roi.bbox_stds.size() == 4, "model.roi.bbox_stds", "is " + num(m.roi.bbox_stds) + "; must have 4 entries");
  positive_list("model.roi.bbox_stds", m.roi.bbox_stds);  // the regression targets are divided by them
  positive("model.roi.sigma", m.roi.sigma);

  fraction("model.test.nms", m.test.nms);
  fraction("model.test.score_threshold", m.test.score_threshold);
  // model.test.max_per_image: every int is valid, <= 0 means no cap (kernels/nms.h).

  at_least("input.scale", c.input.scale, 1);
  if (c.input.max_size < c.input.scale)
    refuse("input.max_size", std::to_string(c.input.max_size),
           ">= input.scale (" + std::to_string(c.input.scale) + ")");
  need(c.input.convention == "caffe" || c.input.convention == "torchvision", "input.convention",
       "must be caffe or torchvision");
  at_least("data.prefetch", c.data.prefetch, 1);

  // An inf or NaN lr gives NaN weights at the first step; 0 would train nothing.
  positive("solver.base_lr", c.solver.base_lr);
  fraction("solver.momentum", c.solver.momentum, /*open_hi=*/true);  // >= 1: the velocity never decays
  non_negative("solver.weight_decay", c.solver.weight_decay);
  // The lr is multiplied by gamma at each stage's step: 0 would stop training there and > 1
  // would raise the lr, which no step schedule means.
  if (!(c.solver.gamma > 0 && c.solver.gamma <= 1)) refuse("solver.gamma", num(c.solver.gamma), "in (0, 1]");
  non_negative("solver.bias_lr_mult", c.solver.bias_lr_mult);
  non_negative("solver.bias_decay_mult", c.solver.bias_decay_mult);

  need(c.schedule.type == "alt4" || c.schedule.type == "joint", "schedule.type", "must be alt4 or joint");
  const std::pair<const char*, const StageConfig*> stages[] = {{"rpn1", &c.schedule.rpn1},
                                                               {"frcn1", &c.schedule.frcn1},
                                                               {"rpn2", &c.schedule.rpn2},
                                                               {"frcn2", &c.schedule.frcn2},
                                                               {"joint", &c.schedule.joint}};
  for (const auto& [name, s] : stages) {
    const std::string key = std::string("schedule.") + name;
    at_least(key + ".iters", s->iters, 0);
    at_least(key + ".step", s->step, 0);  // 0: the lr never steps
    at_least(key + ".ims_per_batch", s->ims_per_batch, 1);
  }
  for (const auto& [name, s] : stages) {
    if (std::string(name).rfind("rpn", 0) == 0) continue;  // only the head stages sample RoIs
    const std::string key = std::string("schedule.") + name;
    need(m.roi.batch % s->ims_per_batch == 0, key + ".ims_per_batch",
         "is " + std::to_string(s->ims_per_batch) + "; must divide model.roi.batch (" + std::to_string(m.roi.batch) +
             " RoIs per minibatch, split evenly)");
    if (!(s->bg_iou_lo >= 0 && s->bg_iou_lo <= m.roi.bg_iou_hi))
      refuse(key + ".bg_iou_lo", num(s->bg_iou_lo), "in [0, model.roi.bg_iou_hi] = [0, " + num(m.roi.bg_iou_hi) + "]");
  }
  at_least("schedule.proposal_post_nms", c.schedule.proposal_post_nms, 1);
  // The trainer takes the iteration count modulo these: 0 was a SIGFPE.
  at_least("schedule.log_every", c.schedule.log_every, 1);
  at_least("schedule.checkpoint_every", c.schedule.checkpoint_every, 1);
  need(c.init == "msra" || c.init == "xavier", "init", "must be msra or xavier");
}

}  // namespace frcnn
