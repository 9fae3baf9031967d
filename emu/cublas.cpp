// cuBLAS on the CPU for the emulated build (include/cublas_v2.h): OpenBLAS computes,
// column-major like cuBLAS. Every operand must lie inside one device allocation over
// its whole extent (leading dimension included), or the call fails with
// CUBLAS_STATUS_INVALID_VALUE and a report: a GPU reads out of bounds there.
#include <cblas.h>
#include <cublas_v2.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "emu/internal.h"
#include "kernels/tensor_formats.h"

struct cublasContext {
  cudaStream_t stream = nullptr;
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
};

namespace {

using namespace emu::detail;

CBLAS_TRANSPOSE op(cublasOperation_t o) { return o == CUBLAS_OP_N ? CblasNoTrans : CblasTrans; }

// A column-major rows x cols matrix with leading dimension ld (or a strided vector).
bool operand_ok(const char* call, const char* name, const void* p, int64_t rows, int64_t cols, int64_t ld,
                size_t elem = sizeof(float)) {
  if (rows <= 0 || cols <= 0) return true;
  const size_t bytes = size_t((cols - 1) * ld + rows) * elem;
  if (p && is_device_range(p, bytes)) return true;
  report("cublas-operand", "%s: %s (%p, %lld x %lld, ld %lld: %zu bytes) is not inside one device allocation", call,
         name, p, static_cast<long long>(rows), static_cast<long long>(cols), static_cast<long long>(ld), bytes);
  return false;
}

// A column-major operand (rows x cols, leading dimension ld) as FP32 values, BF16 widened,
// FP32 rounded to TF32 when `tf32` (cuBLAS does not document its TF32 rounding; we take
// cvt.rna's, as our kernels do).
std::vector<float> as_f32(const void* p, cudaDataType t, int rows, int cols, int ld, bool tf32) {
  std::vector<float> out(size_t(std::max(0, cols - 1)) * ld + size_t(std::max(0, rows)), 0.f);
  for (int c = 0; c < cols; ++c)
    for (int r = 0; r < rows; ++r) {
      const size_t i = size_t(c) * ld + r;
      if (t == CUDA_R_16BF) {
        uint16_t v;
        std::memcpy(&v, static_cast<const char*>(p) + 2 * i, 2);
        out[i] = frcnn::ptx::bf16_bits_float(v);
      } else {
        const float v = static_cast<const float*>(p)[i];
        out[i] = tf32 ? frcnn::ptx::round_to_tf32(v) : v;
      }
    }
  return out;
}

// Runs a call's work now on the handle's stream, or records it when that stream is
// capturing (emu/graph.cpp): the work then runs, checks included, at each graph launch.
// Everything it needs is captured by value now (the math mode too, as cuBLAS bakes it).
template <class F>
cublasStatus_t run_on_stream(cublasHandle_t h, const char* call, F work) {
  if (capturing(h->stream)) {
    capture(h->stream, call, [work](cudaStream_t) { work(); });
    return CUBLAS_STATUS_SUCCESS;
  }
  if (check_enqueue(h->stream, call) != cudaSuccess) return CUBLAS_STATUS_EXECUTION_FAILED;
  return work();
}

bool handle_ok(cublasHandle_t h, const char* call) {
  if (h) return true;
  report("cublas-handle", "%s with a null handle", call);
  return false;
}

}  // namespace

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
  *handle = new cublasContext{};
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t handle) {
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
  if (!handle_ok(handle, "cublasSetStream")) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!stream_is_valid(stream)) {
    report("invalid-stream", "cublasSetStream(%p): not a live stream", static_cast<void*>(stream));
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  handle->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasGetStream(cublasHandle_t handle, cudaStream_t* stream) {
  if (!handle_ok(handle, "cublasGetStream")) return CUBLAS_STATUS_NOT_INITIALIZED;
  *stream = handle->stream;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  if (!handle_ok(handle, "cublasSetMathMode")) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->math = mode;  // OpenBLAS computes in fp32 whatever the mode (emu/README.md)
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t* mode) {
  if (!handle_ok(handle, "cublasGetMathMode")) return CUBLAS_STATUS_NOT_INITIALIZED;
  *mode = handle->math;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasGetProperty(libraryPropertyType type, int* value) {
  *value = type == MAJOR_VERSION ? 13 : 0;  // the API level emulated
  return CUBLAS_STATUS_SUCCESS;
}

namespace {

// C = alpha op(A) op(B) + beta C for cublasSgemm and cublasGemmEx (`call` names the caller in
// reports): A and B are CUDA_R_32F or CUDA_R_16BF, C is FP32. In CUBLAS_TF32_TENSOR_OP_MATH the
// FP32 operands are rounded to TF32 first (TF32 tensor cores); BF16 operands are widened.
cublasStatus_t gemm(const char* call, cublasMath_t math, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                    int k, float alpha, const void* A, cudaDataType at, int lda, const void* B, cudaDataType bt, int ldb,
                    float beta, float* C, int ldc) {
  const int a_rows = ta == CUBLAS_OP_N ? m : k, a_cols = ta == CUBLAS_OP_N ? k : m;
  const int b_rows = tb == CUBLAS_OP_N ? k : n, b_cols = tb == CUBLAS_OP_N ? n : k;
  if (m < 0 || n < 0 || k < 0 || lda < std::max(1, a_rows) || ldb < std::max(1, b_rows) || ldc < std::max(1, m)) {
    report("cublas-argument", "%s(m %d, n %d, k %d, lda %d, ldb %d, ldc %d): invalid sizes", call, m, n, k, lda, ldb,
           ldc);
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  auto size = [](cudaDataType t) { return t == CUDA_R_16BF ? size_t(2) : size_t(4); };
  if (!operand_ok(call, "A", A, k ? a_rows : 0, a_cols, lda, size(at)) ||
      !operand_ok(call, "B", B, k ? b_rows : 0, b_cols, ldb, size(bt)) || !operand_ok(call, "C", C, m, n, ldc))
    return CUBLAS_STATUS_INVALID_VALUE;
  DeviceScope scope;
  bump(&emu::Counters::library_calls);
  if (!m || !n) return CUBLAS_STATUS_SUCCESS;
  const bool tf32 = math == CUBLAS_TF32_TENSOR_OP_MATH;
  if (!tf32 && at == CUDA_R_32F && bt == CUDA_R_32F) {  // plain FP32: OpenBLAS on the operands themselves
    cblas_sgemm(CblasColMajor, op(ta), op(tb), m, n, k, alpha, static_cast<const float*>(A), lda,
                static_cast<const float*>(B), ldb, beta, C, ldc);
    return CUBLAS_STATUS_SUCCESS;
  }
  const std::vector<float> a = as_f32(A, at, a_rows, a_cols, lda, tf32 && at == CUDA_R_32F);
  const std::vector<float> b = as_f32(B, bt, b_rows, b_cols, ldb, tf32 && bt == CUDA_R_32F);
  cblas_sgemm(CblasColMajor, op(ta), op(tb), m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, C, ldc);
  return CUBLAS_STATUS_SUCCESS;
}

}  // namespace

cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const float* alpha, const float* A, int lda, const float* B, int ldb, const float* beta,
                           float* C, int ldc) {
  if (!handle_ok(h, "cublasSgemm")) return CUBLAS_STATUS_NOT_INITIALIZED;
  const float a = *alpha, b = *beta;
  const cublasMath_t math = h->math;
  return run_on_stream(h, "cublasSgemm", [=] {
    return gemm("cublasSgemm", math, ta, tb, m, n, k, a, A, CUDA_R_32F, lda, B, CUDA_R_32F, ldb, b, C, ldc);
  });
}

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const void* alpha, const void* A, cudaDataType at, int lda, const void* B, cudaDataType bt,
                            int ldb, const void* beta, void* C, cudaDataType ct, int ldc, cublasComputeType_t compute,
                            cublasGemmAlgo_t) {
  if (!handle_ok(h, "cublasGemmEx")) return CUBLAS_STATUS_NOT_INITIALIZED;
  auto type_ok = [](cudaDataType t) { return t == CUDA_R_32F || t == CUDA_R_16BF; };
  if (!type_ok(at) || !type_ok(bt) || ct != CUDA_R_32F || compute != CUBLAS_COMPUTE_32F) {
    report("cublas-argument", "cublasGemmEx: types A %d, B %d, C %d, compute %d are not emulated", int(at), int(bt),
           int(ct), int(compute));
    return CUBLAS_STATUS_NOT_SUPPORTED;
  }
  const float a = *static_cast<const float*>(alpha), b = *static_cast<const float*>(beta);
  const cublasMath_t math = h->math;
  return run_on_stream(h, "cublasGemmEx", [=] {
    return gemm("cublasGemmEx", math, ta, tb, m, n, k, a, A, at, lda, B, bt, ldb, b, static_cast<float*>(C), ldc);
  });
}

cublasStatus_t cublasSgemv(cublasHandle_t h, cublasOperation_t t, int m, int n, const float* alpha, const float* A,
                           int lda, const float* x, int incx, const float* beta, float* y, int incy) {
  if (!handle_ok(h, "cublasSgemv")) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (m < 0 || n < 0 || lda < std::max(1, m) || incx == 0 || incy == 0) {
    report("cublas-argument", "cublasSgemv(m %d, n %d, lda %d, incx %d, incy %d): invalid sizes", m, n, lda, incx,
           incy);
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  const int xn = t == CUBLAS_OP_N ? n : m, yn = t == CUBLAS_OP_N ? m : n;
  if (!operand_ok("cublasSgemv", "A", A, m, n, lda) || !operand_ok("cublasSgemv", "x", x, 1, xn, std::abs(incx)) ||
      !operand_ok("cublasSgemv", "y", y, 1, yn, std::abs(incy)))
    return CUBLAS_STATUS_INVALID_VALUE;
  const float a = *alpha, b = *beta;
  return run_on_stream(h, "cublasSgemv", [=] {
    DeviceScope scope;
    bump(&emu::Counters::library_calls);
    if (m && n) cblas_sgemv(CblasColMajor, op(t), m, n, a, A, lda, x, incx, b, y, incy);
    return CUBLAS_STATUS_SUCCESS;
  });
}

cublasStatus_t cublasSger(cublasHandle_t h, int m, int n, const float* alpha, const float* x, int incx, const float* y,
                          int incy, float* A, int lda) {
  if (!handle_ok(h, "cublasSger")) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (m < 0 || n < 0 || lda < std::max(1, m) || incx == 0 || incy == 0) {
    report("cublas-argument", "cublasSger(m %d, n %d, lda %d, incx %d, incy %d): invalid sizes", m, n, lda, incx, incy);
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  if (!operand_ok("cublasSger", "x", x, 1, m, std::abs(incx)) ||
      !operand_ok("cublasSger", "y", y, 1, n, std::abs(incy)) || !operand_ok("cublasSger", "A", A, m, n, lda))
    return CUBLAS_STATUS_INVALID_VALUE;
  const float a = *alpha;
  return run_on_stream(h, "cublasSger", [=] {
    DeviceScope scope;
    bump(&emu::Counters::library_calls);
    if (m && n) cblas_sger(CblasColMajor, m, n, a, x, incx, y, incy, A, lda);
    return CUBLAS_STATUS_SUCCESS;
  });
}
