// cuBLAS half of the Linear layer. cuBLAS is column-major: a row-major (r x c) buffer is
// the column-major (c x r) matrix, so every product below is written for the transposes.
#include <cublas_v2.h>

#include <stdexcept>
#include <string>

#include "layers/linear.h"

namespace frcnn {

static void cublas_check(cublasStatus_t st, const char* what) {
  if (st != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string("Linear (cuBLAS): ") + what + " failed with status " + std::to_string(int(st)));
}

// C = op(A) op(B) + beta C, column-major: sgemm in the handle's math mode, or with bf16
// GemmEx on BF16 A and B, FP32 C and compute type.
static void gemm(cublasHandle_t h, bool bf16, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n,
                 int64_t k, const void* A, int64_t lda, const void* B, int64_t ldb, float beta, float* C, int64_t ldc,
                 const char* what) {
  const float one = 1.f;
  if (bf16)
    cublas_check(cublasGemmEx(h, ta, tb, int(m), int(n), int(k), &one, A, CUDA_R_16BF, int(lda), B, CUDA_R_16BF,
                              int(ldb), &beta, C, CUDA_R_32F, int(ldc), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                 what);
  else
    cublas_check(cublasSgemm(h, ta, tb, int(m), int(n), int(k), &one, static_cast<const float*>(A), int(lda),
                             static_cast<const float*>(B), int(ldb), &beta, C, int(ldc)),
                 what);
}

void linear_forward_cublas(Context& ctx, const void* x, const void* w, bool bf16, const float* b, const float* ones,
                           float* y, int64_t N, int64_t in, int64_t out) {
  auto h = static_cast<cublasHandle_t>(ctx.cublas());
  const float one = 1.f;
  // Y^T (out x N) = (W^T)^T (out x in) * X^T (in x N)
  gemm(h, bf16, CUBLAS_OP_T, CUBLAS_OP_N, out, N, in, w, in, x, in, 0.f, y, out, "forward gemm");
  // Y^T += b 1^T
  if (b) cublas_check(cublasSger(h, int(out), int(N), &one, b, 1, ones, 1, y, int(out)), "bias ger");
}

void linear_backward_cublas(Context& ctx, const void* x, const void* w, const void* gy, bool bf16, const float* gy32,
                            const float* ones, float* gx, float* gw, float* gb, int64_t N, int64_t in, int64_t out) {
  auto h = static_cast<cublasHandle_t>(ctx.cublas());
  const float one = 1.f;
  // gX^T (in x N) = W^T (in x out) * gY^T (out x N)
  if (gx) gemm(h, bf16, CUBLAS_OP_N, CUBLAS_OP_N, in, N, out, w, in, gy, out, 0.f, gx, in, "grad-input gemm");
  // gW^T (in x out) += X^T (in x N) * gY (N x out)
  if (gw) gemm(h, bf16, CUBLAS_OP_N, CUBLAS_OP_T, in, out, N, x, in, gy, out, 1.f, gw, in, "grad-weight gemm");
  // gb (out) += gY^T (out x N) * 1, FP32
  if (gb) cublas_check(cublasSgemv(h, CUBLAS_OP_N, int(out), int(N), &one, gy32, int(out), ones, 1, &one, gb, 1), "bias gemv");
}

}  // namespace frcnn
