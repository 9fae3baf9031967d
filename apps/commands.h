// Each subcommand lives in cmd_<name>.cpp and registers itself on the root app here.
// Adding a command: write cmd_<name>.cpp with add_<name>_command(), list it below and
// in main.cpp.
#pragma once
#include <CLI/CLI.hpp>

namespace frcnn::cli {

void add_info_command(CLI::App& app);
void add_config_command(CLI::App& app);
void add_synth_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_detect_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_bench_command(CLI::App& app);

}  // namespace frcnn::cli
