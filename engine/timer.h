// Wall-clock and CUDA-event timers. Time GPU work with CudaEventTimer (events on the
// stream), or synchronise before reading a WallTimer.
#pragma once
#include <chrono>

#include "engine/stream.h"

namespace frcnn {

class WallTimer {
 public:
  WallTimer() { reset(); }
  void reset() { start_ = std::chrono::steady_clock::now(); }
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  double millis() const { return seconds() * 1e3; }

 private:
  std::chrono::steady_clock::time_point start_;
};

// Records a start event on construction/start() and a stop event on stop(); millis()
// waits for the stop event. Throws when built without CUDA or without a GPU.
class CudaEventTimer {
 public:
  explicit CudaEventTimer(Stream stream);
  ~CudaEventTimer();
  CudaEventTimer(const CudaEventTimer&) = delete;
  CudaEventTimer& operator=(const CudaEventTimer&) = delete;
  void start();
  void stop();
  float millis();  // synchronises on the stop event

 private:
  Stream stream_;
  // cudaEvent_t; unused in a build without CUDA, where every method throws.
  [[maybe_unused]] void* start_ = nullptr;
  [[maybe_unused]] void* stop_ = nullptr;
};

}  // namespace frcnn
