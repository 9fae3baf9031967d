// `frcnn bench --config C [--device cpu|cuda|auto] [--iters N] [--warmup W] [--json FILE]
//              [--mode inference|train|all] [--size HxW] [--batch B[,B...]] [--set key=value ...]`
// End-to-end timing of the detector with random weights: inference ms/image split as
// the paper's Table 5 (conv / proposals / region-wise), fps, and seconds per training
// iteration for an RPN, a Fast R-CNN and a joint stage, with peak memory. What exactly
// is timed: train/bench_e2e.h. Prints a table; --json writes every number.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "apps/commands.h"
#include "engine/log.h"
#include "engine/safetensors.h"
#include "train/bench_e2e.h"
#include "apps/run_setup.h"
#include "train/config.h"

namespace frcnn::cli {

namespace {

struct BenchArgs {
  RunOptions run;
  std::string json, mode = "all", size;
  E2eOptions opt;
};

void run_bench(const BenchArgs& a) {
  if (a.run.config.empty()) throw std::invalid_argument("bench: --config is required");
  E2eOptions opt = a.opt;
  opt.mode = a.mode;
  if (!a.size.empty()) parse_size(a.size, opt.height, opt.width);
  // Found now, not after minutes of timing.
  if (!a.json.empty()) require_writable(a.json);
  Run run = start_run(a.run, "");
  const std::string name = std::filesystem::path(a.run.config).stem().string();
  E2eReport r = run_e2e_bench(run.cfg, name, *run.ctx, opt);
  std::fputs(e2e_table(r).c_str(), stdout);
  std::fflush(stdout);
  if (!a.json.empty()) {
    nlohmann::json j = e2e_to_json(r);
    j["config_path"] = a.run.config;
    j["overrides"] = a.run.sets;
    write_file_atomic(a.json, j.dump(2) + "\n");
    log_info("frcnn bench: wrote " + a.json);
  }
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "End-to-end benchmark: inference ms/image (Table 5 split), training s/iter");
  auto a = std::make_shared<BenchArgs>();
  add_run_options(cmd, a->run);  // --config (required here), --set, --device
  // bench has no default setup to fall back on: the help says REQUIRED, and CLI11 refuses
  // a command line without it (exit 106).
  cmd->get_option("--config")->required()->description("YAML config file, e.g. configs/tiny.yaml");
  cmd->add_option("--iters", a->opt.iters, "timed images / iterations per phase")->capture_default_str();
  cmd->add_option("--warmup", a->opt.warmup, "untimed runs before each phase")->capture_default_str();
  cmd->add_option("--mode", a->mode, "inference, train or all")->capture_default_str();
  cmd->add_option("--size", a->size, "input HxW (default: the config's input.scale x input.max_size)");
  cmd->add_option("--batch", a->opt.batches,
                  "throughput mode: also time B same-size images per detect_batch call, for each B listed "
                  "(e.g. --batch 2,4,8); batch 1 is always timed")
      ->delimiter(',');
  cmd->add_option("--seed", a->opt.seed, "seed of the random weights and inputs")->capture_default_str();
  cmd->add_option("--json", a->json, "write the results as JSON to this file");
  cmd->callback([a] { run_bench(*a); });
}

}  // namespace frcnn::cli
