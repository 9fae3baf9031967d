// Progress of a training run: a line on the terminal every N iterations
//   [rpn1] iter 120/2000  loss 0.412 (rpn_cls 0.201 rpn_box 0.211)  lr 1.0e-03  0.31 s/it  ETA 2h05m (run; stage 9m42s)
// and one JSON object per logged iteration appended to a metrics file (JSON lines), which
// train/plot.h turns into loss curves.
#pragma once
#include <cstdint>
#include <fstream>
#include <map>
#include <string>

namespace frcnn {

// "9m42s", "1h03m", "12s".
std::string format_duration(double seconds);

class MetricsLog {
 public:
  // Appends to `jsonl_path` (created if missing; "" = terminal only).
  explicit MetricsLog(const std::string& jsonl_path);

  // Records one iteration's scalars; when `print` is set also logs the progress line.
  // `iter` counts completed iterations (1-based), `total` the stage's iterations,
  // `sec_per_iter` the recent average, `run_eta_seconds` the estimate for the whole run
  // (trainer.h remaining_run_seconds; < 0: only the stage's ETA is printed).
  void log(const std::string& stage, int64_t iter, int64_t total, const std::map<std::string, double>& scalars,
           double lr, double sec_per_iter, bool print, double run_eta_seconds = -1.0);

 private:
  std::ofstream out_;
};

}  // namespace frcnn
