// Each subcommand lives in cmd_<name>.cpp and registers itself on the root app here.
// Adding a command: write cmd_<name>.cpp with add_<name>_command(), list it below and
// in main.cpp.
#pragma once
#include <CLI/CLI.hpp>

namespace frcnn::cli {

// Exit statuses of `frcnn` (docs/USAGE.md, "Exit status"): 0 done; 1 an error (the message
// names the file and what is wrong); 100-127 a command line CLI11 could not parse (its codes); for
// `frcnn train` stopped after saving its checkpoint: 128 + the signal (SIGINT 130, SIGTERM
// 143, the shells' convention) or, for --stop-after, 75 (sysexits' EX_TEMPFAIL: not done,
// try again, here with --resume). A command returns a status other than 0 or 1 by throwing
// CLI::RuntimeError(status), which main() returns without printing anything.
inline constexpr int kExitStoppedAfter = 75;

void add_info_command(CLI::App& app);
void add_config_command(CLI::App& app);
void add_synth_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_detect_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_bench_command(CLI::App& app);

}  // namespace frcnn::cli
