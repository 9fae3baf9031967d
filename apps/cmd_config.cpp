// `frcnn config [--config C] [--set key=value ...]`: prints the effective configuration
// as commented YAML (what every run prints at its start), or checks a config file.
#include <cstdio>

#include "apps/commands.h"
#include "train/config.h"

namespace frcnn::cli {

void add_config_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("config", "Print the effective configuration (defaults, file, overrides) as YAML");
  auto path = std::make_shared<std::string>();
  auto sets = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--config,-c", *path, "YAML config file (default: the paper's VGG16 VOC07 setup)");
  cmd->add_option("--set", *sets, "override a key, e.g. --set model.rpn.nms=0.6 (repeatable)");
  cmd->callback([path, sets] {
    Config c = path->empty() ? default_config(*sets) : load_config(*path, *sets);
    std::fputs(dump_config(c).c_str(), stdout);
  });
}

}  // namespace frcnn::cli
