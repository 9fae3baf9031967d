// What the header-only CUB stand-in (include/cub/cub.cuh) needs from the runtime: the
// device lock around each call, the temporary-storage and operand checks, the counter.
#include <memory>
#include <vector>

#include "emu/internal.h"

namespace emu::detail {

namespace {
thread_local std::vector<std::unique_ptr<DeviceScope>> t_cub_scopes;
}

bool cub_call_begin(const char* what, void* temp, size_t temp_bytes, size_t needed, cudaStream_t stream) {
  t_cub_scopes.push_back(std::make_unique<DeviceScope>());
  bump(&Counters::library_calls);
  if (!stream_is_valid(stream)) {
    report("invalid-stream", "%s on stream %p, which does not exist", what, static_cast<void*>(stream));
    return false;
  }
  if (check_enqueue(stream, what) != cudaSuccess) return false;
  if (temp_bytes < needed) {
    report("cub-temp-storage", "%s: temp_storage_bytes %zu is less than the %zu the size query returned", what,
           temp_bytes, needed);
    return false;
  }
  if (!is_device_range(temp, temp_bytes)) {
    report("cub-temp-storage", "%s: d_temp_storage %p (%zu bytes) is not inside one device allocation", what, temp,
           temp_bytes);
    return false;
  }
  return true;
}

void cub_call_end() { t_cub_scopes.pop_back(); }

bool cub_check_range(const char* what, const char* name, const void* p, size_t bytes) {
  if (bytes == 0 || is_device_range(p, bytes)) return true;
  report("cub-operand", "%s: %s (%p, %zu bytes) is not inside one device allocation", what, name, p, bytes);
  return false;
}

}  // namespace emu::detail
