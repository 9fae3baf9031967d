// `frcnn train`: the paper's 4-step alternating training or approximate joint training
// on a VOC-layout dataset (train/trainer.h), then evaluation on the test split.
#include <filesystem>

#include "apps/commands.h"
#include "engine/context.h"
#include "engine/log.h"
#include "train/config.h"
#include "train/trainer.h"

namespace frcnn::cli {

namespace {
struct TrainArgs {
  std::string config, data, split, out, schedule, weights, device = "auto";
  std::vector<std::string> sets;
  bool resume = false;
  int64_t stop_after = -1;
};

void run_train(const TrainArgs& a) {
  std::vector<std::string> sets = a.sets;
  if (!a.data.empty()) sets.push_back("data.root=" + a.data);
  if (!a.split.empty()) sets.push_back("data.train_split=" + a.split);
  if (!a.schedule.empty()) sets.push_back("schedule.type=" + a.schedule);
  Config cfg = a.config.empty() ? default_config(sets) : load_config(a.config, sets);
  log_info("effective configuration:\n" + dump_config(cfg));
  Context ctx(resolve_device(a.device));
  log_info("device: " + ctx.device().str());
  TrainOptions o;
  o.out_dir = a.out;
  o.imagenet_weights = a.weights;
  o.resume = a.resume;
  o.stop_after = a.stop_after;
  TrainResult r = train(cfg, ctx, o);
  if (!r.finished) return;
}
}  // namespace

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train Faster R-CNN (4-step alternating or approximate joint)");
  auto a = std::make_shared<TrainArgs>();
  cmd->add_option("--config,-c", a->config, "YAML config (configs/vgg16_voc07.yaml, configs/tiny.yaml)");
  cmd->add_option("--set", a->sets, "override a config key, e.g. --set solver.base_lr=0.002 (repeatable)");
  cmd->add_option("--data", a->data, "VOC-layout dataset folder (overrides data.root)");
  cmd->add_option("--split", a->split, "training split (overrides data.train_split)");
  cmd->add_option("--out,-o", a->out, "output folder (checkpoints, weights, metrics, curves)")->required();
  cmd->add_option("--schedule", a->schedule, "alt4 | joint (overrides schedule.type)");
  cmd->add_option("--weights", a->weights, "ImageNet VGG16 weights from scripts/convert_vgg16.py (default: random init)");
  cmd->add_option("--device", a->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd->add_flag("--resume", a->resume, "continue the run in --out from its checkpoint");
  cmd->add_option("--stop-after", a->stop_after, "stop after N iterations (a checkpoint is written; for tests)");
  cmd->callback([a] { run_train(*a); });
}

}  // namespace frcnn::cli
