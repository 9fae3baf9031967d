#include "train/metrics_log.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "engine/log.h"

namespace frcnn {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  long t = std::lround(s);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

MetricsLog::MetricsLog(const std::string& jsonl_path) {
  if (jsonl_path.empty()) return;
  out_.open(jsonl_path, std::ios::app);
  if (!out_) throw std::runtime_error(jsonl_path + ": cannot open the metrics file for writing");
}

void MetricsLog::log(const std::string& stage, int64_t iter, int64_t total, const std::map<std::string, double>& scalars,
                     double lr, double sec_per_iter, bool print, double run_eta_seconds) {
  if (out_.is_open()) {
    nlohmann::json j;
    j["stage"] = stage;
    j["iter"] = iter;
    j["lr"] = lr;
    j["sec_per_iter"] = sec_per_iter;
    for (const auto& [k, v] : scalars) j[k] = v;
    out_ << j.dump() << "\n";
    out_.flush();
  }
  if (!print) return;
  std::ostringstream os;
  char buf[64];
  os << "[" << stage << "] iter " << iter << "/" << total;
  auto total_it = scalars.find("loss");
  if (total_it != scalars.end()) {
    std::snprintf(buf, sizeof buf, "  loss %.4f", total_it->second);
    os << buf << " (";
    bool first = true;
    for (const auto& [k, v] : scalars) {
      if (k == "loss") continue;
      std::snprintf(buf, sizeof buf, "%s%s %.4f", first ? "" : " ", k.c_str(), v);
      os << buf;
      first = false;
    }
    os << ")";
  }
  const std::string stage_eta = format_duration(sec_per_iter * double(total - iter));
  std::snprintf(buf, sizeof buf, "  lr %.1e  %.3f s/it  ETA ", lr, sec_per_iter);
  os << buf;
  if (run_eta_seconds >= 0) os << format_duration(run_eta_seconds) << " (run; stage " << stage_eta << ")";
  else os << stage_eta;
  log_info(os.str());
}

}  // namespace frcnn
