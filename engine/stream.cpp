#include "engine/stream.h"

#include <stdexcept>
#include <utility>

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

CudaStream::CudaStream() {
#if FRCNN_WITH_CUDA
  s_.handle = stream_create_impl();
#else
  throw std::runtime_error("CudaStream: this frcnn was built without CUDA");
#endif
}

CudaStream::~CudaStream() {
#if FRCNN_WITH_CUDA
  if (s_.handle) stream_destroy_impl(s_.handle);
#endif
}

CudaStream& CudaStream::operator=(CudaStream&& o) noexcept {
  if (this != &o) {
#if FRCNN_WITH_CUDA
    if (s_.handle) stream_destroy_impl(s_.handle);
#endif
    s_ = std::exchange(o.s_, Stream{});
  }
  return *this;
}

}  // namespace frcnn
