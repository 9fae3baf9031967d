#include <cublas_v2.h>
#include <cuda_runtime.h>
#if FRCNN_WITH_CUDNN
#include <cudnn.h>
#endif

#include <stdexcept>
#include <string>

#include "engine/cuda_check.h"

namespace frcnn {

void set_device_impl(int index) { CUDA_CHECK(cudaSetDevice(index)); }

void* cublas_create_impl(Stream s) {
  cublasHandle_t h = nullptr;
  cublasStatus_t st = cublasCreate(&h);
  if (st != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("cublasCreate failed: status " + std::to_string(st));
  cublasSetStream(h, cuda_stream(s));
  // Full fp32: the engine's reference numbers are fp32; TF32 would be a separate choice.
  cublasSetMathMode(h, CUBLAS_DEFAULT_MATH);
  return h;
}

void cublas_destroy_impl(void* h) noexcept { cublasDestroy(static_cast<cublasHandle_t>(h)); }

void* cudnn_create_impl(Stream s) {
#if FRCNN_WITH_CUDNN
  cudnnHandle_t h = nullptr;
  cudnnStatus_t st = cudnnCreate(&h);
  if (st != CUDNN_STATUS_SUCCESS) throw std::runtime_error(std::string("cudnnCreate failed: ") + cudnnGetErrorString(st));
  cudnnSetStream(h, cuda_stream(s));
  return h;
#else
  (void)s;
  throw std::runtime_error("cuDNN requested, but this frcnn was built without cuDNN");
#endif
}

void cudnn_destroy_impl(void* h) noexcept {
#if FRCNN_WITH_CUDNN
  cudnnDestroy(static_cast<cudnnHandle_t>(h));
#else
  (void)h;
#endif
}

}  // namespace frcnn
