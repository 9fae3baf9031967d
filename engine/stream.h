// Streams are passed explicitly to every launcher. `Stream` is a non-owning handle that
// is safe to include anywhere (no CUDA headers): handle is a cudaStream_t, nullptr
// meaning the legacy default stream. `CudaStream` owns one (RAII, move-only).
// CPU code ignores streams.
#pragma once

namespace frcnn {

struct Stream {
  void* handle = nullptr;  // cudaStream_t
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
  ~CudaStream();
  CudaStream(CudaStream&& o) noexcept : s_(o.s_) { o.s_.handle = nullptr; }
  CudaStream& operator=(CudaStream&& o) noexcept;
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;
  Stream get() const { return s_; }

 private:
  Stream s_;
};

}  // namespace frcnn
