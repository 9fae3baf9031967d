// The common start of every run-type command (detect, eval, train, bench):
//
//   RunOptions opt;                       // --config, --set (repeatable), --device
//   add_run_options(cmd, opt);
//   cmd->callback([&] {
//     Run run = start_run(opt, out_dir);  // config loaded + validated, printed, Context made
//     Detector d = load_detector(run, weights_path);   // when the command needs a model
//     ...
//   });
//
// start_run: loads the config (see the model-config rule below) with the --set overrides,
// validates it, checks model.backbone.conv_backend (the model applies it when built),
// resolves --device (engine/device.h: cpu | cuda | cuda:N | auto) and creates the Context
// with model.backbone.math and .deterministic (the cuDNN / cuBLAS math of the whole run).
// The effective config (dump_config) goes to OUT_DIR/config.yaml when out_dir is given
// (the log names the file), else onto the log at debug level (one info line names its source)
// (frcnn train: RunOptions::command_writes_config, the trainer writes OUT/config.yaml).
//
// Model-config rule (detect, eval: RunOptions::model is the trained model file): the
// config stored in the model file (its "config" metadata, written by frcnn train) is the
// base, so a run without --config uses what the model was trained with. --config replaces
// that base, --set overrides apply on top of either. Then the keys the weights depend on
// (train/config.h, weight_dependent_keys: classes, widths, anchors, bbox_stds, input scale)
// must equal the stored ones: a difference is an error listing each key with both values,
// unless RunOptions::override_model_config (--override-model-config) is set, which runs with
// them and warns. A model file without a stored config uses --config (or the defaults) and
// says so.
//
// Input convention rule (one place): the weights file's safetensors metadata input.*
// (data/input_convention.h) wins; without it, config input.convention decides
// ("caffe" | "torchvision"). The chosen convention and its source are logged.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "data/input_convention.h"
#include "engine/context.h"
#include "layers/faster_rcnn.h"
#include "train/config.h"
#include "train/run_lock.h"

namespace frcnn::cli {

struct RunOptions {
  std::string config;              // YAML file; empty: the built-in defaults (the paper's setup)
  std::vector<std::string> sets;   // "dotted.key=value" overrides, applied in order after the file
  std::string device = "auto";     // cpu | cuda | cuda:N | auto
  // train: the trainer writes OUT/config.yaml itself (after taking the folder's lock) and
  // logs where, so start_run neither writes nor prints the config.
  bool command_writes_config = false;
  // detect / eval: the trained model whose stored config is the base (the rule above).
  std::string model;
  bool override_model_config = false;
};

// Adds --config/-c, --set (repeatable) and --device to `cmd`, bound to `opt`. With
// `for_model` (detect, eval) the help describes the model-config rule and
// --override-model-config is added; the command sets opt.model itself.
void add_run_options(CLI::App* cmd, RunOptions& opt, bool for_model = false);

// The effective config of a run (the rules above), validated; `source` (optional) gets
// where it came from, for the log ("the config stored in M, 1 --set override(s)").
Config load_run_config(const RunOptions& opt, std::string* source = nullptr);

struct Run {
  Config cfg;                     // effective config (file + overrides), validated
  std::unique_ptr<Context> ctx;   // on the resolved device
  std::unique_ptr<OutputFolderLock> out_lock;  // held on out_dir for the run's lifetime
};

// See the header comment. `out_dir` may be empty (config printed to the log); otherwise
// it is created, locked (train/run_lock.h: a second run on the same folder fails at once;
// stale temp files of dead runs are removed) and config.yaml written into it. Throws with a message naming the key,
// file or device on any problem.
Run start_run(const RunOptions& opt, const std::string& out_dir);

// The input convention rule. `weights_metadata` is the weights file's safetensors
// metadata and `what` names the file in messages. Throws std::invalid_argument for
// partial/invalid input.* metadata or an unknown config input.convention.
InputConvention resolve_input_convention(const std::map<std::string, std::string>& weights_metadata,
                                         const std::string& what, const Config& cfg);
// The same, reading only the metadata from the weights file's header (no tensor data).
InputConvention input_convention_for_weights(const std::string& weights_path, const Config& cfg);

// A trained detector (FasterRCNN::save, e.g. the trainer's model file) on run.ctx's device,
// in evaluation mode, with the convention its pixels must be prepared with.
struct Detector {
  std::unique_ptr<FasterRCNN> model;
  InputConvention convention;
};
// Builds FasterRCNN(run.cfg.model), moves it to the run's device and loads `weights`
// (FasterRCNN::load: clear errors for ImageNet-only weights, class or shape mismatches).
Detector load_detector(Run& run, const std::string& weights);

}  // namespace frcnn::cli
