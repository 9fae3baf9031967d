#include "apps/run_setup.h"

#include <filesystem>
#include <stdexcept>

#include "engine/log.h"
#include "engine/math_mode.h"
#include "engine/safetensors.h"
#include "layers/conv2d_layer.h"

namespace frcnn::cli {

void add_run_options(CLI::App* cmd, RunOptions& opt) {
  cmd->add_option("--config,-c", opt.config, "YAML config file (default: the paper's VGG16 VOC07 setup)");
  // One value per --set, so `--set k=v IMAGE...` leaves the positional arguments alone.
  cmd->add_option("--set", opt.sets, "override a config key, e.g. --set model.test.nms=0.4 (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--device", opt.device, "cpu, cuda, cuda:N or auto (a GPU when there is one)")
      ->capture_default_str();
}

Run start_run(const RunOptions& opt, const std::string& out_dir) {
  Run run;
  run.cfg = opt.config.empty() ? default_config(opt.sets) : load_config(opt.config, opt.sets);
  validate_config(run.cfg);
  // The model applies the backend when it is built; checking the name here makes a typo
  // fail before any weights are read.
  const ConvBackend backend = parse_conv_backend(run.cfg.model.backbone.conv_backend);
  const MathMode math = parse_math_mode(run.cfg.model.backbone.math);

  const std::string dump = dump_config(run.cfg);
  if (!out_dir.empty()) {
    std::filesystem::create_directories(out_dir);
    const std::string path = (std::filesystem::path(out_dir) / "config.yaml").string();
    write_file_atomic(path, dump);
    log_info("effective config: " + path + (opt.config.empty() ? " (defaults" : " (" + opt.config) +
             str_cat(", ", opt.sets.size(), " --set override(s))"));
  } else if (!opt.command_writes_config) {
    log_info("effective config (" + (opt.config.empty() ? std::string("defaults") : opt.config) +
             str_cat(", ", opt.sets.size(), " --set override(s)):\n") + dump);
  }

  const Device device = resolve_device(opt.device);
  require_device(device);
  run.ctx = std::make_unique<Context>(device);
  // The context carries the library math of every CUDA layer the run builds: cuDNN convs
  // and cuBLAS fc layers (the model itself has no say in it).
  run.ctx->set_math_mode(math);
  run.ctx->set_deterministic(run.cfg.model.backbone.deterministic);
  log_info(str_cat(
      "device: ", device.str(),
      device.is_cuda()
          ? str_cat(", conv backend ", conv_backend_name(backend), ", math ", math_mode_description(math),
                    run.cfg.model.backbone.deterministic ? ", deterministic cuDNN algorithms" : ", any cuDNN algorithm")
          : std::string()));
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
