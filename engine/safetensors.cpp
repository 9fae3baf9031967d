#include "engine/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "engine/fault_injection.h"
#include "engine/log.h"

namespace frcnn {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": " + what);
}

// The temporary file write_file_atomic writes `path` through: `<path>.tmp.<pid>`, the name
// remove_stale_temp_files (train/run_lock.h) recognises once its process is gone.
std::string temp_path(const std::string& path) { return path + ".tmp." + std::to_string(::getpid()); }

uint64_t read_u64_le(const unsigned char* b) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[i];
  return v;
}

}  // namespace

const Tensor& TensorFile::get(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) fail(path, "tensor '" + name + "' not found");
  return it->second;
}

const Tensor& TensorFile::get(const std::string& name, const Shape& shape, DType dtype) const {
  const Tensor& t = get(name);
  if (t.shape() != shape)
    fail(path, "tensor '" + name + "' has shape " + shape_str(t.shape()) + ", expected " + shape_str(shape));
  if (t.dtype() != dtype)
    fail(path, "tensor '" + name + "' has dtype " + dtype_name(t.dtype()) + ", expected " + dtype_name(dtype));
  require_finite(path, name, t);
  return t;
}

void require_finite(const std::string& path, const std::string& name, const Tensor& t) {
  if (t.dtype() != DType::F32 || t.numel() == 0) return;
  // TensorFile tensors are CPU and contiguous (made from the file's bytes).
  const float* p = t.data<float>();
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(p[i])) {
      if (first < 0) first = i;
      ++bad;
    }
  if (bad > 0)
    fail(path, str_cat("tensor '", name, "' has ", bad, " non-finite value(s), the first ", p[first],
                       " at flat index ", first, " (a corrupt file, or weights saved from a diverged run)"));
}

std::string TensorFile::meta(const std::string& key, const std::string& fallback) const {
  auto it = metadata.find(key);
  return it == metadata.end() ? fallback : it->second;
}

namespace {

// The parsed header of an open safetensors file: the JSON object and where the data
// section starts. Every malformed-header case throws naming the file.
struct Header {
  nlohmann::json json;
  uint64_t data_start = 0, data_size = 0;
};

Header read_header(std::ifstream& in, const std::string& path) {
  if (!in) fail(path, std::string("cannot open (") + std::strerror(errno) + ")");
  in.seekg(0, std::ios::end);
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  if (file_size < 8) fail(path, "truncated: " + std::to_string(file_size) + " bytes, not even a header length");
  unsigned char lenbuf[8];
  in.read(reinterpret_cast<char*>(lenbuf), 8);
  const uint64_t header_len = read_u64_le(lenbuf);
  if (header_len > file_size - 8)
    fail(path, "header length " + std::to_string(header_len) + " exceeds the file (" + std::to_string(file_size) +
                   " bytes): truncated or not a safetensors file");
  std::string text(header_len, '\0');
  in.read(text.data(), static_cast<std::streamsize>(header_len));
  if (!in) fail(path, "could not read the header");
  Header h;
  try {
    h.json = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    fail(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!h.json.is_object()) fail(path, "header is not a JSON object");
  h.data_start = 8 + header_len;
  h.data_size = file_size - h.data_start;
  return h;
}

std::map<std::string, std::string> parse_metadata(const nlohmann::json& header, const std::string& path) {
  std::map<std::string, std::string> meta;
  if (!header.contains("__metadata__")) return meta;
  const auto& e = header["__metadata__"];
  if (!e.is_object()) fail(path, "__metadata__ is not an object");
  for (auto m = e.begin(); m != e.end(); ++m) {
    if (!m.value().is_string()) fail(path, "__metadata__ value '" + m.key() + "' is not a string");
    meta[m.key()] = m.value().get<std::string>();
  }
  return meta;
}

}  // namespace

std::map<std::string, std::string> read_safetensors_metadata(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return parse_metadata(read_header(in, path).json, path);
}

TensorFile load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const Header h = read_header(in, path);
  const nlohmann::json& j = h.json;
  const uint64_t data_start = h.data_start, data_size = h.data_size;
  TensorFile f;
  f.path = path;
  f.metadata = parse_metadata(j, path);
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const auto& e = it.value();
    if (name == "__metadata__") continue;
    const std::string where = "tensor '" + name + "'";
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
      fail(path, where + ": entry needs dtype, shape and data_offsets");
    DType dtype;
    try {
      dtype = dtype_from_name(e["dtype"].get<std::string>());
    } catch (const std::exception& ex) {
      fail(path, where + ": " + ex.what());
    }
    Shape shape;
    if (!e["shape"].is_array()) fail(path, where + ": shape is not an array");
    for (const auto& d : e["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) fail(path, where + ": bad dim in shape");
      shape.push_back(d.get<int64_t>());
    }
    if (shape.size() > static_cast<size_t>(kMaxDims))
      fail(path, where + ": " + std::to_string(shape.size()) + " dims, at most " + std::to_string(kMaxDims));
    const auto& off = e["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      fail(path, where + ": data_offsets must be two non-negative integers");
    uint64_t b = off[0].get<uint64_t>(), en = off[1].get<uint64_t>();
    // The dims are any 63-bit numbers: their product must not overflow (shape_numel and the
    // byte count below), whatever a later zero dim would make of it.
    uint64_t elems = 1;
    for (int64_t d : shape)
      if (__builtin_mul_overflow(elems, static_cast<uint64_t>(d), &elems) ||
          elems > static_cast<uint64_t>(INT64_MAX) / dtype_size(dtype))
        fail(path, where + ": shape " + shape_str(shape) + " has too many elements (its byte count overflows 64 bits)");
    uint64_t need = static_cast<uint64_t>(shape_numel(shape)) * dtype_size(dtype);
    if (en < b || en - b != need)
      fail(path, where + ": data_offsets [" + std::to_string(b) + ", " + std::to_string(en) + ") hold " +
                     std::to_string(en - b) + " bytes but shape " + shape_str(shape) + " " + dtype_name(dtype) +
                     " needs " + std::to_string(need));
    if (en > data_size)
      fail(path, where + ": data ends at byte " + std::to_string(en) + " of the data section, but the file has only " +
                     std::to_string(data_size) + " (truncated)");
    Tensor t = Tensor::empty(shape, dtype, Device::cpu());
    if (need > 0) {
      in.seekg(static_cast<std::streamoff>(data_start + b));
      in.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(need));
      if (!in) fail(path, where + ": read failed");
    }
    f.tensors.emplace(name, std::move(t));
  }
  return f;
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string tmp = temp_path(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail(path, std::string("cannot create temporary file (") + std::strerror(errno) + ")");
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail(path, std::string("write failed (") + std::strerror(err) + ")");
    }
    done += static_cast<size_t>(w);
  }
  kill_point("write:" + std::filesystem::path(path).filename().string());
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    fail(path, "could not flush the temporary file");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail(path, std::string("rename failed (") + std::strerror(err) + ")");
  }
  // The rename is durable once the folder's entry is: without this a power cut could
  // bring back the old file (or none) after the caller was told the write succeeded.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);  // best effort: some file systems refuse fsync on a folder
    ::close(dfd);
  }
}

void require_writable(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail(path, "is a folder, not a file that can be written");
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::exists(parent, ec)) {
    fs::create_directories(parent, ec);
    if (ec) fail(path, "cannot create the folder " + parent.string() + " (" + ec.message() + ")");
  }
  const std::string tmp = temp_path(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail(path, std::string("cannot be written (") + std::strerror(errno) + ")");
  ::close(fd);
  ::unlink(tmp.c_str());
}

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__") fail(path, "'__metadata__' cannot be a tensor name");
    if (!t.defined()) fail(path, "tensor '" + name + "' is undefined");
    header[name] = {{"dtype", dtype_name(t.dtype())}, {"shape", t.shape()}, {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8 != 0) h.push_back(' ');  // keep the data 8-byte aligned
  std::string out;
  out.reserve(8 + h.size() + offset);
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += h;
  for (const auto& [name, t] : tensors) {
    size_t at = out.size();
    out.resize(at + t.nbytes());
    if (t.nbytes()) copy_bytes(out.data() + at, Device::cpu(), t.raw_data(), t.device(), t.nbytes(), Stream{});
  }
  write_file_atomic(path, out);
}

}  // namespace frcnn
