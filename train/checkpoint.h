// Training checkpoints: everything a run needs to continue exactly where it stopped.
//
// One safetensors file: the model's parameters under their own names, the SGD momentum
// buffers under "momentum/<name>", and the scalar state in the metadata (schedule
// stage, iteration within the stage, RNG seed and step, config text). Written
// atomically (temp file + fsync + rename): a crash mid-write leaves the previous
// checkpoint intact, never a torn one.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "engine/tensor.h"

namespace frcnn {

struct CheckpointState {
  std::string stage;       // "rpn1", "frcn1", "rpn2", "frcn2", "joint"
  int64_t iter = 0;        // iterations completed in `stage`
  uint64_t rng_seed = 0;   // CounterRng state
  uint64_t rng_step = 0;
  std::map<std::string, Tensor> params;    // name -> value
  std::map<std::string, Tensor> momentum;  // name -> SGD momentum buffer
  std::map<std::string, std::string> extra;  // free-form metadata (config text, ...)
};

void save_checkpoint(const std::string& path, const CheckpointState& s);
// Throws naming the file when it is not a frcnn checkpoint or is malformed.
CheckpointState load_checkpoint(const std::string& path);

}  // namespace frcnn
