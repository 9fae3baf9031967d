// Context: where and on what stream work runs, plus the library handles that CUDA
// layers need (cuBLAS, cuDNN), created on first use and bound to the context's stream.
// It is passed explicitly to every layer and op call; there is no global "current"
// context. A CPU context has no stream and no handles.
//
// It also says how those libraries may compute: the FP32 math mode (engine/math_mode.h;
// fp32 by default, no TF32) and whether cuDNN must use deterministic algorithms (yes by
// default). Our own kernels are FP32 and deterministic whatever these say.
//
//   Context ctx(resolve_device("auto"));
//   layer.forward(ctx, x);
#pragma once
#include <map>
#include <memory>
#include <typeindex>
#include <typeinfo>

#include "engine/device.h"
#include "engine/math_mode.h"
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

  // The math mode of the cuBLAS and cuDNN calls made on this context. Setting it applies
  // to the cuBLAS handle at once when it exists (else when it is created; a failing
  // cublasSetMathMode throws); cuDNN reads it per call (one plan per mode).
  void set_math_mode(MathMode m);
  MathMode math_mode() const { return math_; }
  // cuDNN algorithms must be documented deterministic (CUDNN_DETERMINISTIC).
  void set_deterministic(bool d) { deterministic_ = d; }
  bool deterministic() const { return deterministic_; }

  // One object of type T per context, default-constructed on first use: state that
  // belongs with this context's handles and stream (layers/conv2d_cudnn.h keeps its
  // convolution plans here). Destroyed before the handles and the stream. Not
  // thread-safe, like the rest of the context.
  template <class T>
  T& cache() {
    std::shared_ptr<void>& p = caches_[std::type_index(typeid(T))];
    if (!p) p = std::make_shared<T>();
    return *static_cast<T*>(p.get());
  }

 private:
  Device device_;
  std::unique_ptr<CudaStream> stream_;
  void* cublas_ = nullptr;
  void* cudnn_ = nullptr;
  MathMode math_ = MathMode::Fp32;
  bool deterministic_ = true;
  std::map<std::type_index, std::shared_ptr<void>> caches_;
};

}  // namespace frcnn
