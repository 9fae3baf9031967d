// Fuzz target: one training checkpoint (train/checkpoint.h) through load_checkpoint, what
// `frcnn train --resume` reads: a safetensors file whose metadata carries the stage,
// iteration and RNG state. A checkpoint that loads must split its tensors into parameters
// and "momentum/" buffers without losing one.
#include <string>

#include "engine/safetensors.h"
#include "train/checkpoint.h"
#include "tests/fuzz/fuzz_util.h"

FRCNN_FUZZ_TARGET(checkpoint) {
  using namespace frcnn;
  const std::string path = fuzz::write_input(data, size, "input.ckpt.safetensors");
  fuzz::expect_clean(path, [&] {
    const CheckpointState s = load_checkpoint(path);
    for (const auto& [name, t] : s.params) fuzz::check(t.defined(), "param '" + name + "' is defined");
    for (const auto& [name, t] : s.momentum) fuzz::check(t.defined(), "momentum '" + name + "' is defined");
    fuzz::check(s.extra.count("format") == 0 && s.extra.count("iter") == 0, "the scalar state is not in extra");
  });
  return 0;
}
