// Fuzz target: one safetensors file (engine/safetensors.h), header and body, through both
// readers the commands use: read_safetensors_metadata (the header alone, before a weights
// file is loaded) and load_safetensors (every tensor). A file that loads must give tensors
// whose bytes fit in the file, and get() with each tensor's own shape must find it.
#include <string>

#include "engine/safetensors.h"
#include "tests/fuzz/fuzz_util.h"

FRCNN_FUZZ_TARGET(safetensors) {
  using namespace frcnn;
  const std::string path = fuzz::write_input(data, size, "input.safetensors");
  fuzz::expect_clean(path, [&] { (void)read_safetensors_metadata(path); });
  fuzz::expect_clean(path, [&] {
    const TensorFile f = load_safetensors(path);
    size_t total = 0;
    for (const auto& [name, t] : f.tensors) {
      fuzz::check(t.defined(), "tensor '" + name + "' is defined");
      fuzz::check(t.nbytes() <= size, "tensor '" + name + "' is no larger than the file");
      total += t.nbytes();
      fuzz::check(&f.get(name, t.shape(), t.dtype()) == &t, "get() finds tensor '" + name + "'");
    }
    (void)total;
  });
  return 0;
}
