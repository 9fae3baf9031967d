// safetensors I/O (the Hugging Face format), for weights and checkpoints:
//   [u64 little-endian N][N bytes of JSON header][raw little-endian tensor data]
//   header: {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
//            "__metadata__": {"<key>": "<string>", ...}}
// Offsets are relative to the start of the data section.
//
// Every malformed-file case is a std::runtime_error that names the file (and the
// tensor where there is one): missing or unreadable file, truncated file, a header
// length beyond the file, a header that is not JSON, an unknown dtype, offsets that
// disagree with the shape, data past the end of the file; and, through get(), a
// missing or mis-shaped tensor.
#pragma once
#include <map>
#include <string>

#include "engine/tensor.h"

namespace frcnn {

class TensorFile {
 public:
  std::string path;
  std::map<std::string, Tensor> tensors;  // CPU tensors
  std::map<std::string, std::string> metadata;

  bool has(const std::string& name) const { return tensors.count(name) != 0; }
  // Throws "<path>: tensor '<name>' not found" when absent.
  const Tensor& get(const std::string& name) const;
  // Also checks the shape and dtype: "<path>: tensor '<name>' has shape (..), expected (..)",
  // and that an F32 tensor is finite (require_finite): what weights are read with.
  const Tensor& get(const std::string& name, const Shape& shape, DType dtype = DType::F32) const;
  // Metadata value or `fallback`.
  std::string meta(const std::string& key, const std::string& fallback = "") const;
};

TensorFile load_safetensors(const std::string& path);

// Weights and optimizer state are finite: a NaN or inf is a corrupt file or a diverged
// run, and would turn every output into NaN. Throws "<path>: tensor '<name>' has N
// non-finite value(s), the first nan at flat index i" for an F32 tensor; other dtypes pass.
void require_finite(const std::string& path, const std::string& name, const Tensor& t);

// The __metadata__ of a file, reading its header alone (no tensor data): what a command
// needs to know about a weights file (input convention, classes) before loading it.
// Header errors are load_safetensors' own.
std::map<std::string, std::string> read_safetensors_metadata(const std::string& path);

// Writes atomically: a temporary file in the same folder, flushed, then renamed over
// `path`, so a crash never leaves a half-written file under the final name. Tensors
// may live on any device.
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Writes `bytes` to `path` atomically (temp file + fsync + rename). Used by the
// checkpoint and result writers too.
void write_file_atomic(const std::string& path, const std::string& bytes);

// Checks up front that write_file_atomic(path, ...) can succeed, for outputs written at
// the end of long work (frcnn bench --json): creates the parent folder if needed, then
// creates and removes the temp file. Throws naming `path` and the reason (a folder in the
// way, no permission, a read-only file system, ...).
void require_writable(const std::string& path);

}  // namespace frcnn
