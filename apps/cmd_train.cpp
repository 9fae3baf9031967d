// `frcnn train`: the paper's 4-step alternating training or approximate joint training
// on a VOC-layout dataset (train/trainer.h), then the VOC07 evaluation of the final
// model on the test split when the dataset has one.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>

#include "apps/commands.h"
#include "apps/run_setup.h"
#include "engine/log.h"
#include "train/evaluate.h"
#include "train/trainer.h"

namespace frcnn::cli {

namespace {

// Set by SIGINT/SIGTERM; the trainer checkpoints and stops at the end of the iteration.
// (A signal handler can only reach a static.)
std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};  // the signal that stopped the run, for the exit status

// Only async-signal-safe calls here: write(2) says at once that the signal was seen (an
// iteration can take seconds), and the default action is restored so that a second
// Ctrl-C stops the process at once. Checkpoints are written atomically, so even that
// loses no more than the iterations since the last one.
extern "C" void on_stop_signal(int sig) {
  static const char kInt[] =
      "frcnn train: SIGINT received, stopping after this iteration: writing a checkpoint... "
      "(Ctrl-C again stops at once)\n";
  static const char kTerm[] =
      "frcnn train: SIGTERM received, stopping after this iteration: writing a checkpoint... "
      "(a second SIGTERM stops at once)\n";
  g_signal = sig;
  g_stop = true;
  std::signal(sig, SIG_DFL);
  const bool is_int = sig == SIGINT;
  [[maybe_unused]] const ssize_t n =
      ::write(STDERR_FILENO, is_int ? kInt : kTerm, (is_int ? sizeof(kInt) : sizeof(kTerm)) - 1);
}

struct TrainArgs {
  RunOptions run;
  std::string data, split, out, schedule, weights;
  bool resume = false, no_eval = false;
  int64_t stop_after = -1;
};

void run_train(TrainArgs& a) {
  if (!a.data.empty()) a.run.sets.push_back("data.root=" + a.data);
  if (!a.split.empty()) a.run.sets.push_back("data.train_split=" + a.split);
  if (!a.schedule.empty()) a.run.sets.push_back("schedule.type=" + a.schedule);
  // The trainer writes OUT/config.yaml itself, once it holds the folder's lock, and logs
  // where (it checks the config on --resume); the 80-odd lines stay off the terminal.
  a.run.command_writes_config = true;
  Run run = start_run(a.run, "");
  // The evaluation runs after hours of training: a test split it could not score is found now.
  const auto test_list = std::filesystem::path(run.cfg.data.root) / "ImageSets" / "Main" / (run.cfg.data.test_split + ".txt");
  const bool evaluate = !a.no_eval && std::filesystem::exists(test_list);
  if (evaluate) {
    VocOptions vo;
    vo.keep_difficult = true;
    VocDataset test_set(run.cfg.data.root, run.cfg.data.test_split, run.cfg.model.classes, vo);
    require_ground_truth(voc_ground_truth(test_set, test_set.size()),
                         run.cfg.data.root + " split '" + run.cfg.data.test_split +
                             "' (the evaluation after training; --no-eval skips it)");
  }
  TrainOptions o;
  o.out_dir = a.out;
  o.imagenet_weights = a.weights;
  o.resume = a.resume;
  o.stop_after = a.stop_after;
  o.stop_requested = &g_stop;
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  TrainResult r = train(run.cfg, *run.ctx, o);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  // A stopped run is saved but not done: a non-zero status (docs/USAGE.md, "Exit status")
  // keeps scripts from taking it for a finished one. A signal that came during the last
  // iteration leaves a finished model, but the user asked to stop, so no evaluation.
  if (const int sig = g_signal.load()) {
    log_info(str_cat("train: stopped by ", sig == SIGINT ? "SIGINT" : "SIGTERM", "; ",
                     r.finished ? "training had finished, evaluation skipped" : "continue with --resume"));
    throw CLI::RuntimeError(128 + sig);
  }
  if (!r.finished) throw CLI::RuntimeError(kExitStoppedAfter);
  if (a.no_eval) return;
  if (!evaluate) {
    log_info("no " + test_list.string() + ": skipping the evaluation");
    return;
  }
  Detector d = load_detector(run, r.model_path);  // as frcnn eval would load it
  // The trainer's lock on OUT ended with train(); the evaluation holds one on OUT/eval.
  OutputFolderLock eval_lock(a.out + "/eval");
  EvalSummary s = evaluate_split(*run.ctx, *d.model, run.cfg, d.convention, run.cfg.data.test_split, a.out + "/eval",
                                 ApMetric::Voc07);
  log_info(str_cat("train: done. model ", r.model_path, ", test mAP ", s.map, " (VOC07 11-point); evaluation in ",
                   a.out, "/eval, loss curves ", a.out, "/loss_*.png"));
}
}  // namespace

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train Faster R-CNN (4-step alternating or approximate joint), then evaluate");
  auto a = std::make_shared<TrainArgs>();
  add_run_options(cmd, a->run);
  cmd->add_option("--data", a->data, "VOC-layout dataset folder (overrides data.root)");
  cmd->add_option("--split", a->split, "training split (overrides data.train_split)");
  cmd->add_option("--out,-o", a->out, "output folder (checkpoints, weights, metrics, curves, evaluation)")->required();
  cmd->add_option("--schedule", a->schedule, "alt4 | joint (overrides schedule.type)");
  cmd->add_option("--weights", a->weights, "ImageNet VGG16 weights from scripts/convert_vgg16.py (default: random init)");
  cmd->add_flag("--resume", a->resume, "continue the run in --out from its checkpoint");
  cmd->add_flag("--no-eval", a->no_eval, "skip the evaluation on the test split at the end");
  cmd->add_option("--stop-after", a->stop_after,
                  "stop after N iterations, writing a checkpoint, and exit with status 75 (for tests)");
  cmd->callback([a] { run_train(*a); });
}

}  // namespace frcnn::cli
