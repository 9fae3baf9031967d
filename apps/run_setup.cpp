#include "apps/run_setup.h"

#include <filesystem>
#include <stdexcept>

#include "engine/log.h"
#include "engine/math_mode.h"
#include "engine/safetensors.h"
#include "layers/conv2d_layer.h"

namespace frcnn::cli {

void add_run_options(CLI::App* cmd, RunOptions& opt, bool for_model) {
  if (for_model) {
    cmd->add_option("--config,-c", opt.config,
                    "YAML config file (default: the config stored in the model file; keys the weights depend on "
                    "must match it)");
    cmd->add_flag("--override-model-config", opt.override_model_config,
                  "allow --config/--set to change keys the weights depend on (classes, widths, anchors, "
                  "bbox_stds, input scale); the detections are then not what the model was trained for");
  } else {
    cmd->add_option("--config,-c", opt.config, "YAML config file (default: the paper's VGG16 VOC07 setup)");
  }
  // One value per --set, so `--set k=v IMAGE...` leaves the positional arguments alone.
  cmd->add_option("--set", opt.sets, "override a config key, e.g. --set model.test.nms=0.4 (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--device", opt.device, "cpu, cuda, cuda:N or auto (a GPU when there is one)")
      ->capture_default_str();
}

namespace {

// "FILE, N --set override(s)"; `base` replaces FILE (e.g. the model's stored config).
std::string config_source(const RunOptions& opt, const std::string& base = "") {
  const std::string from = !base.empty() ? base : opt.config.empty() ? std::string("defaults") : opt.config;
  return from + str_cat(", ", opt.sets.size(), " --set override(s)");
}

}  // namespace

Config load_run_config(const RunOptions& opt, std::string* source_out) {
  auto plain = [&] { return opt.config.empty() ? default_config(opt.sets) : load_config(opt.config, opt.sets); };
  if (source_out) *source_out = config_source(opt);
  if (opt.model.empty()) return plain();
  const auto meta = read_safetensors_metadata(opt.model);
  const auto stored_text = meta.find("config");
  if (stored_text == meta.end()) {
    // ImageNet weights or another file that is no detector: load_detector says so.
    if (meta.count("classes"))
      log_warn(opt.model + ": the model file stores no config; using " + config_source(opt));
    return plain();
  }
  const std::string source = opt.model + " (its stored config)";
  Config stored;
  try {
    stored = config_from_text(stored_text->second, source);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(e.what()) +
                             "\n  (the model was written by another frcnn version; pass --config with a config "
                             "that matches it, and --override-model-config if a weight-dependent key differs)");
  }
  Config cfg = opt.config.empty() ? config_from_text(stored_text->second, source, opt.sets) : plain();
  const auto diffs = weight_dependent_differences(stored, cfg);
  if (!diffs.empty()) {
    std::string list;
    for (const auto& d : diffs) list += "\n  " + d;
    const std::string what = opt.model + " was trained with other values of keys its weights depend on (trained -> " +
                             config_source(opt, opt.config.empty() ? "its stored config" : "") + "):" + list;
    if (!opt.override_model_config)
      throw std::runtime_error(what + "\n  drop those --config/--set values (without --config the model's own config "
                                      "is used), or pass --override-model-config to run with them anyway");
    log_warn(what + "\n  --override-model-config: running with them");
  }
  if (source_out && opt.config.empty()) *source_out = config_source(opt, "the config stored in " + opt.model);
  if (!opt.config.empty()) log_info(opt.config + ": its weight-dependent keys match " + opt.model);
  return cfg;
}

Run start_run(const RunOptions& opt, const std::string& out_dir) {
  Run run;
  std::string source;
  run.cfg = load_run_config(opt, &source);
  validate_config(run.cfg);
  // The model applies the backend when it is built; checking the name here makes a typo
  // fail before any weights are read.
  const ConvBackend backend = parse_conv_backend(run.cfg.model.backbone.conv_backend);
  const MathMode math = parse_math_mode(run.cfg.model.precision);

  const std::string dump = dump_config(run.cfg);
  if (!out_dir.empty()) {
    // Before anything is written: two runs on one folder would mix their files (the lock also
    // clears a dead run's temp files).
    run.out_lock = std::make_unique<OutputFolderLock>(out_dir);
    const std::string path = (std::filesystem::path(out_dir) / "config.yaml").string();
    write_file_atomic(path, dump);
    log_info("effective config: " + path + " (" + source + ")");
  } else if (!opt.command_writes_config) {
    // No folder to put it in (detect without --out, bench): one line, the 80-odd lines of the
    // config itself at debug level (--log-level debug), or `frcnn config` with the same options.
    log_info("effective config: " + source + " (--log-level debug prints it)");
    log_debug("effective config:\n" + dump);
  }

  const Device device = resolve_device(opt.device);
  require_device(device);
  run.ctx = std::make_unique<Context>(device);
  // The context carries the precision of every conv and fc layer the run builds, on both
  // devices: our kernels, cuDNN, cuBLAS and the CPU path read it from there.
  run.ctx->set_math_mode(math);
  run.ctx->set_deterministic(run.cfg.model.backbone.deterministic);
  log_info(str_cat(
      "device: ", device.str(),
      device.is_cuda()
          ? str_cat(", conv backend ", conv_backend_name(backend), ", precision ", math_mode_description(math),
                    run.cfg.model.backbone.deterministic ? ", deterministic cuDNN algorithms" : ", any cuDNN algorithm")
          : str_cat(", precision ", math_mode_name(math))));
  if (device.is_cuda() && !math_env_overrides().empty())
    log_warn("the environment overrides the math mode: " + math_env_overrides());
  return run;
}

InputConvention resolve_input_convention(const std::map<std::string, std::string>& weights_metadata,
                                         const std::string& what, const Config& cfg) {
  return input_convention_or(weights_metadata, what, cfg.input.convention);
}

InputConvention input_convention_for_weights(const std::string& weights_path, const Config& cfg) {
  return resolve_input_convention(read_safetensors_metadata(weights_path), weights_path, cfg);
}

Detector load_detector(Run& run, const std::string& weights) {
  Detector d;
  d.convention = input_convention_for_weights(weights, run.cfg);
  d.model = std::make_unique<FasterRCNN>(run.cfg.model);
  d.model->to(*run.ctx);
  d.model->load(*run.ctx, weights);
  d.model->set_training(false);
  log_info(str_cat("model: ", weights, " (", run.cfg.model.classes.size(), " classes)"));
  return d;
}

}  // namespace frcnn::cli
