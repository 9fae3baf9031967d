// frcnn: the command-line entry point. `frcnn --help` lists the subcommands; the exit
// statuses are listed in apps/commands.h and docs/USAGE.md ("Exit status").
#include <cstdio>
#include <exception>

#include "apps/commands.h"
#include "engine/log.h"

int main(int argc, char** argv) {
  CLI::App app{"frcnn: Faster R-CNN (VGG16) in C++/CUDA, training, evaluation, detection, benchmarks"};
  app.require_subcommand(1);
  // Subcommands made after this pass options they do not know to the root, so --log-level
  // works before or after the subcommand (frcnn train ... --log-level warn).
  app.fallthrough();
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug, info, warn, error or off (before or after the subcommand)")
      ->capture_default_str();
  app.parse_complete_callback([&] { frcnn::set_log_level(frcnn::parse_log_level(log_level)); });

  frcnn::cli::add_info_command(app);
  frcnn::cli::add_config_command(app);
  frcnn::cli::add_synth_command(app);
  frcnn::cli::add_train_command(app);
  frcnn::cli::add_detect_command(app);
  frcnn::cli::add_eval_command(app);
  frcnn::cli::add_bench_command(app);
  for (CLI::App* sub : app.get_subcommands({}))
    sub->footer("Also: --log-level debug|info|warn|error|off (default info), before or after the subcommand.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    frcnn::log_error(e.what());
    return 1;
  }
  return 0;
}
