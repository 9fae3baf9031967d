#include "train/checkpoint.h"

#include <stdexcept>

#include "engine/safetensors.h"

namespace frcnn {

namespace {
const std::string kMomentum = "momentum/";
const std::string kFormat = "frcnn-checkpoint-1";
}  // namespace

void save_checkpoint(const std::string& path, const CheckpointState& s) {
  std::map<std::string, Tensor> tensors = s.params;
  for (const auto& [name, t] : s.momentum) tensors[kMomentum + name] = t;
  std::map<std::string, std::string> meta = s.extra;
  meta["format"] = kFormat;
  meta["stage"] = s.stage;
  meta["iter"] = std::to_string(s.iter);
  meta["rng_seed"] = std::to_string(s.rng_seed);
  meta["rng_step"] = std::to_string(s.rng_step);
  save_safetensors(path, tensors, meta);
}

CheckpointState load_checkpoint(const std::string& path) {
  TensorFile f = load_safetensors(path);
  if (f.meta("format") != kFormat)
    throw std::runtime_error(path + ": not a frcnn checkpoint (metadata 'format' is '" + f.meta("format") + "')");
  CheckpointState s;
  try {
    s.stage = f.meta("stage");
    s.iter = std::stoll(f.meta("iter"));
    s.rng_seed = std::stoull(f.meta("rng_seed"));
    s.rng_step = std::stoull(f.meta("rng_step"));
  } catch (const std::exception&) {
    throw std::runtime_error(path + ": checkpoint metadata (iter / rng) is malformed");
  }
  for (const auto& [k, v] : f.metadata)
    if (k != "format" && k != "stage" && k != "iter" && k != "rng_seed" && k != "rng_step") s.extra[k] = v;
  for (auto& [name, t] : f.tensors) {
    require_finite(path, name, t);
    if (name.rfind(kMomentum, 0) == 0) s.momentum[name.substr(kMomentum.size())] = t;
    else s.params[name] = t;
  }
  return s;
}

}  // namespace frcnn
