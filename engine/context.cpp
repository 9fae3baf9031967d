#include "engine/context.h"

#include <stdexcept>

namespace frcnn {

#if FRCNN_WITH_CUDA
void* cublas_create_impl(Stream s, MathMode m);  // context_cuda.cpp
void cublas_set_math_impl(void* h, MathMode m);
void cublas_destroy_impl(void* h) noexcept;
void* cudnn_create_impl(Stream s);
void cudnn_destroy_impl(void* h) noexcept;
void set_device_impl(int index);
#endif

Context::Context(Device device) : device_(device) {
  require_device(device);
#if FRCNN_WITH_CUDA
  if (device.is_cuda()) {
    set_device_impl(device.index);
    stream_ = std::make_unique<CudaStream>();
  }
#endif
}

Context::~Context() {
  caches_.clear();  // may hold descriptors and workspaces that use the handles and the stream
#if FRCNN_WITH_CUDA
  if (cublas_) cublas_destroy_impl(cublas_);
  if (cudnn_) cudnn_destroy_impl(cudnn_);
#endif
}

void* Context::cublas() {
  if (!is_cuda()) throw std::logic_error("Context::cublas() on a CPU context");
#if FRCNN_WITH_CUDA
  if (!cublas_) cublas_ = cublas_create_impl(stream(), math_);
#endif
  return cublas_;
}

void Context::set_math_mode(MathMode m) {
#if FRCNN_WITH_CUDA
  if (cublas_) cublas_set_math_impl(cublas_, m);
#endif
  math_ = m;
}

void* Context::cudnn() {
  if (!is_cuda()) throw std::logic_error("Context::cudnn() on a CPU context");
#if FRCNN_WITH_CUDA
  if (!cudnn_) cudnn_ = cudnn_create_impl(stream());
#endif
  return cudnn_;
}

}  // namespace frcnn
