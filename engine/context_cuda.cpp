#include <cublas_v2.h>
#include <cuda_runtime.h>
#if FRCNN_WITH_CUDNN
#include <cudnn.h>
#endif

#include <stdexcept>
#include <string>

#include "engine/cuda_check.h"
#include "engine/math_mode.h"
#include "engine/stream.h"

namespace frcnn {

void set_device_impl(int index) { CUDA_CHECK(cudaSetDevice(index)); }

namespace {

void cublas_check(cublasStatus_t st, const char* what) {
  if (st != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string(what) + " failed: cuBLAS status " + std::to_string(int(st)));
}

// See engine/math_mode.h for why these two. bf16: the Linear layers pass BF16 operands to
// cublasGemmEx with an FP32 compute type, which the default math mode honours as asked.
cublasMath_t cublas_math(MathMode m) { return m == MathMode::Tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH; }

}  // namespace

void cublas_set_math_impl(void* h, MathMode m) {
  cublas_check(
      cublasSetMathMode(static_cast<cublasHandle_t>(h), cublas_math(m)),
      m == MathMode::Tf32 ? "cublasSetMathMode(CUBLAS_TF32_TENSOR_OP_MATH)" : "cublasSetMathMode(CUBLAS_DEFAULT_MATH)");
}

void* cublas_create_impl(Stream s, MathMode m) {
  cublasHandle_t h = nullptr;
  cublas_check(cublasCreate(&h), "cublasCreate");
  try {
    cublas_check(cublasSetStream(h, cuda_stream(s)), "cublasSetStream");
    cublas_set_math_impl(h, m);
  } catch (...) {
    cublasDestroy(h);
    throw;
  }
  return h;
}

void cublas_destroy_impl(void* h) noexcept { cublasDestroy(static_cast<cublasHandle_t>(h)); }

void* cudnn_create_impl(Stream s) {
#if FRCNN_WITH_CUDNN
  cudnnHandle_t h = nullptr;
  cudnnStatus_t st = cudnnCreate(&h);
  if (st != CUDNN_STATUS_SUCCESS) throw std::runtime_error(std::string("cudnnCreate failed: ") + cudnnGetErrorString(st));
  st = cudnnSetStream(h, cuda_stream(s));
  if (st != CUDNN_STATUS_SUCCESS) {
    cudnnDestroy(h);
    throw std::runtime_error(std::string("cudnnSetStream failed: ") + cudnnGetErrorString(st));
  }
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
