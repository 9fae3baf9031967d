#include "engine/device.h"

#include <mutex>
#include <stdexcept>

#include "engine/log.h"

namespace frcnn {

#if FRCNN_WITH_CUDA
// device_cuda.cpp
int cuda_device_count_impl();
std::vector<GpuInfo> list_gpus_impl();
#endif

std::string Device::str() const {
  return is_cuda() ? "cuda:" + std::to_string(index) : std::string("cpu");
}

bool built_with_cuda() { return FRCNN_WITH_CUDA; }

int cuda_device_count() {
#if FRCNN_WITH_CUDA
  return cuda_device_count_impl();
#else
  return 0;
#endif
}

bool cuda_available() { return cuda_device_count() > 0; }

std::vector<GpuInfo> list_gpus() {
#if FRCNN_WITH_CUDA
  return list_gpus_impl();
#else
  return {};
#endif
}

void require_device(const Device& d) {
  if (d.is_cpu()) return;
  if (!built_with_cuda())
    throw std::runtime_error("device " + d.str() + " requested, but this frcnn was built without CUDA (FRCNN_CUDA=OFF)");
  int n = cuda_device_count();
  if (n == 0) throw std::runtime_error("device " + d.str() + " requested, but no GPU was found");
  if (d.index < 0 || d.index >= n)
    throw std::runtime_error("device " + d.str() + " requested, but only " + std::to_string(n) + " GPU(s) found");
}

Device resolve_device(const std::string& spec) {
  if (spec == "cpu") return Device::cpu();
  if (spec == "auto") {
    if (cuda_available()) return Device::cuda(0);
    static std::once_flag once;
    std::call_once(once, [] {
      log_info(built_with_cuda() ? "no GPU found: running on the CPU"
                                 : "built without CUDA: running on the CPU");
    });
    return Device::cpu();
  }
  Device d;
  if (spec == "cuda" || spec == "gpu") {
    d = Device::cuda(0);
  } else if (spec.rfind("cuda:", 0) == 0) {
    try {
      size_t used = 0;
      int idx = std::stoi(spec.substr(5), &used);
      if (used != spec.size() - 5) throw std::invalid_argument(spec);
      d = Device::cuda(idx);
    } catch (const std::exception&) {
      throw std::invalid_argument("bad device '" + spec + "' (expected cpu, cuda, cuda:N or auto)");
    }
  } else {
    throw std::invalid_argument("bad device '" + spec + "' (expected cpu, cuda, cuda:N or auto)");
  }
  require_device(d);
  return d;
}

}  // namespace frcnn
