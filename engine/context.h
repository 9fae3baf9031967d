// Context: where and on what stream work runs, plus the library handles that CUDA
// layers need (cuBLAS, cuDNN), created on first use and bound to the context's stream.
// It is passed explicitly to every layer and op call; there is no global "current"
// context. A CPU context has no stream and no handles.
//
//   Context ctx(resolve_device("auto"));
//   layer.forward(ctx, x);
#pragma once
#include <memory>

#include "engine/device.h"
#include "engine/stream.h"

namespace frcnn {

class Context {
 public:
  // CUDA devices get a fresh stream of their own (blocking: see CudaStream).
  explicit Context(Device device = Device::cpu());
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const Device& device() const { return device_; }
  bool is_cuda() const { return device_.is_cuda(); }
  Stream stream() const { return stream_ ? stream_->get() : Stream{}; }
  void synchronize() const { frcnn::synchronize(stream()); }

  // cublasHandle_t / cudnnHandle_t (opaque here so this header needs no CUDA).
  // Throw on a CPU context, or cudnn() in a build without cuDNN.
  void* cublas();
  void* cudnn();

 private:
  Device device_;
  std::unique_ptr<CudaStream> stream_;
  void* cublas_ = nullptr;
  void* cudnn_ = nullptr;
};

}  // namespace frcnn
