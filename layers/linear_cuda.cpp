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

void linear_forward_cublas(Context& ctx, const float* x, const float* w, const float* b, const float* ones, float* y,
                           int64_t N, int64_t in, int64_t out) {
  auto h = static_cast<cublasHandle_t>(ctx.cublas());
  const float one = 1.f, zero = 0.f;
  // Y^T (out x N) = (W^T)^T (out x in) * X^T (in x N)
  cublas_check(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, int(out), int(N), int(in), &one, w, int(in), x, int(in), &zero,
                           y, int(out)),
               "forward gemm");
  // Y^T += b 1^T
  if (b) cublas_check(cublasSger(h, int(out), int(N), &one, b, 1, ones, 1, y, int(out)), "bias ger");
}

void linear_backward_cublas(Context& ctx, const float* x, const float* w, const float* gy, const float* ones,
                            float* gx, float* gw, float* gb, int64_t N, int64_t in, int64_t out) {
  auto h = static_cast<cublasHandle_t>(ctx.cublas());
  const float one = 1.f, zero = 0.f;
  // gX^T (in x N) = W^T (in x out) * gY^T (out x N)
  if (gx)
    cublas_check(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, int(in), int(N), int(out), &one, w, int(in), gy, int(out),
                             &zero, gx, int(in)),
                 "grad-input gemm");
  // gW^T (in x out) += X^T (in x N) * gY (N x out)
  if (gw)
    cublas_check(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, int(in), int(out), int(N), &one, x, int(in), gy, int(out),
                             &one, gw, int(in)),
                 "grad-weight gemm");
  // gb (out) += gY^T (out x N) * 1
  if (gb) cublas_check(cublasSgemv(h, CUBLAS_OP_N, int(out), int(N), &one, gy, int(out), ones, 1, &one, gb, 1), "bias gemv");
}

}  // namespace frcnn
