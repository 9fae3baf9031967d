#include "engine/stream.h"

#include <atomic>
#include <stdexcept>
#include <utility>

#include "engine/allocator.h"

namespace frcnn {

#if FRCNN_WITH_CUDA
void stream_synchronize_impl(void* h);
void device_synchronize_impl();
void* stream_create_impl();
void stream_destroy_impl(void* h) noexcept;
#endif

void synchronize(Stream s) {
#if FRCNN_WITH_CUDA
  stream_synchronize_impl(s.handle);
#else
  (void)s;
#endif
}

void device_synchronize() {
#if FRCNN_WITH_CUDA
  device_synchronize_impl();
#endif
}

namespace {
#if FRCNN_WITH_CUDA
// Stream ids are never reused (0 is the legacy default stream's).
uint64_t next_stream_id() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1);
}
#endif

void destroy(Stream s) noexcept {
#if FRCNN_WITH_CUDA
  if (!s.handle) return;
  try {
    stream_synchronize_impl(s.handle);
    release_stream_blocks(s);
  } catch (...) {
    // A destructor must not throw; a failed sync means the device is already broken
    // and the next CUDA call reports it.
  }
  stream_destroy_impl(s.handle);
#else
  (void)s;
#endif
}
}  // namespace

CudaStream::CudaStream() {
#if FRCNN_WITH_CUDA
  s_.handle = stream_create_impl();
  s_.id = next_stream_id();
#else
  throw std::runtime_error("CudaStream: this frcnn was built without CUDA");
#endif
}

CudaStream::~CudaStream() { destroy(s_); }

CudaStream& CudaStream::operator=(CudaStream&& o) noexcept {
  if (this != &o) {
    destroy(s_);
    s_ = std::exchange(o.s_, Stream{});
  }
  return *this;
}

}  // namespace frcnn
