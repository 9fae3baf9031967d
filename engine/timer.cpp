#include "engine/timer.h"

#include <stdexcept>

namespace frcnn {

#if FRCNN_WITH_CUDA
void* event_create_impl();
void event_destroy_impl(void* e) noexcept;
void event_record_impl(void* e, Stream s);
float event_elapsed_ms_impl(void* start, void* stop);
#endif

CudaEventTimer::CudaEventTimer(Stream stream) : stream_(stream) {
#if FRCNN_WITH_CUDA
  start_ = event_create_impl();
  stop_ = event_create_impl();
  start();
#else
  throw std::runtime_error("CudaEventTimer: this frcnn was built without CUDA");
#endif
}

CudaEventTimer::~CudaEventTimer() {
#if FRCNN_WITH_CUDA
  if (start_) event_destroy_impl(start_);
  if (stop_) event_destroy_impl(stop_);
#endif
}

void CudaEventTimer::start() {
#if FRCNN_WITH_CUDA
  event_record_impl(start_, stream_);
#endif
}

void CudaEventTimer::stop() {
#if FRCNN_WITH_CUDA
  event_record_impl(stop_, stream_);
#endif
}

float CudaEventTimer::millis() {
#if FRCNN_WITH_CUDA
  return event_elapsed_ms_impl(start_, stop_);
#else
  return 0.f;
#endif
}

}  // namespace frcnn
