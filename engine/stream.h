// Streams are passed explicitly to every launcher. `Stream` is a non-owning handle that
// is safe to include anywhere (no CUDA headers): handle is a cudaStream_t, nullptr
// meaning the legacy default stream. `CudaStream` owns one (RAII, move-only).
// CPU code ignores streams.
//
// The driver reuses handles: a stream destroyed and a new one created can have the same
// cudaStream_t. Anything that remembers a stream (the caching allocator's free blocks)
// therefore keys it by `id`, unique to each CudaStream for the life of the process.
#pragma once
#include <cstdint>
#include <utility>

namespace frcnn {

struct Stream {
  void* handle = nullptr;  // cudaStream_t
  uint64_t id = 0;         // 0: the legacy default stream; else its CudaStream's unique id
};

// Waits for all work queued on `s` (no-op without CUDA).
void synchronize(Stream s);
// Waits for all work on the current GPU (no-op without CUDA or GPU).
void device_synchronize();

class CudaStream {
 public:
  // Creates a stream on the current device; throws without CUDA. It is a *blocking*
  // stream (ordered with the legacy default stream), so a copy made without an explicit
  // stream never races with work queued here.
  CudaStream();
  // Waits for the stream's work, hands the blocks the caching allocator kept for it back
  // to the device (so a later stream with the same handle cannot be given them), and
  // destroys it.
  ~CudaStream();
  CudaStream(CudaStream&& o) noexcept : s_(std::exchange(o.s_, Stream{})) {}
  CudaStream& operator=(CudaStream&& o) noexcept;
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;
  Stream get() const { return s_; }

 private:
  Stream s_;
};

}  // namespace frcnn
