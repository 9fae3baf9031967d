// Where a tensor lives and what GPUs the process can see.
//
// A binary built with CUDA still runs on a machine with no GPU: cuda_device_count()
// returns 0 there (never throws), and resolve_device("auto") picks the CPU and says so
// once on the log.
#pragma once
#include <string>
#include <vector>

namespace frcnn {

enum class DeviceKind { CPU, CUDA };

struct Device {
  DeviceKind kind = DeviceKind::CPU;
  int index = 0;  // GPU ordinal; 0 for the CPU

  static Device cpu() { return {DeviceKind::CPU, 0}; }
  static Device cuda(int i = 0) { return {DeviceKind::CUDA, i}; }
  bool is_cuda() const { return kind == DeviceKind::CUDA; }
  bool is_cpu() const { return kind == DeviceKind::CPU; }
  std::string str() const;  // "cpu", "cuda:0"
  bool operator==(const Device& o) const { return kind == o.kind && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

// True when this binary contains the CUDA backend (FRCNN_WITH_CUDA).
bool built_with_cuda();
// Number of usable GPUs; 0 without CUDA, without a driver or without a device.
int cuda_device_count();
// built_with_cuda() && cuda_device_count() > 0.
bool cuda_available();

struct GpuInfo {
  int index = 0;
  std::string name;
  size_t total_memory = 0;  // bytes
  int cc_major = 0, cc_minor = 0;
  int multiprocessors = 0;
};
std::vector<GpuInfo> list_gpus();

// Parses "cpu", "cuda", "cuda:N" or "auto". "auto" is cuda:0 when a GPU is present,
// else the CPU (logged once). Asking for cuda without CUDA support or a GPU throws
// a std::runtime_error that says which of the two is missing.
Device resolve_device(const std::string& spec);

// Throws unless `d` can be used by this process (see resolve_device).
void require_device(const Device& d);

}  // namespace frcnn
