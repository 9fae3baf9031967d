// The ceilings every kernel figure is read against, measured in the same run
// (METHOD: "measure the two ceilings once on the device machine"; one GEMM ceiling per
// precision, engine/math_mode.h):
//   peak/copy   a large device-to-device copy: bytes read + written per second
//               (BM_PeakCopyCpu, BM_PeakCopyCuda)
//   peak/sgemm  a large fp32 GEMM through cuBLAS (CPU: OpenBLAS): FLOP/s, the ceiling of the
//               fp32 rows (BM_PeakSgemmCpu/1024, BM_PeakSgemmCuda/8192)
//   peak/tf32   the same GEMM in cuBLAS's TF32 tensor-core mode (CUDA only), the ceiling of
//               the tf32 rows (BM_PeakTf32GemmCuda/8192)
//   peak/bf16   the same GEMM through cublasGemmEx on BF16 A and B (converted before timing),
//               FP32 C, CUBLAS_COMPUTE_32F (CUDA only), the ceiling of the bf16 rows
//               (BM_PeakBf16GemmCuda/8192)
// CUDA entries time with CUDA events (manual time); CPU entries with the wall clock.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cstring>
#include <string>
#include <vector>

#include "engine/context.h"
#include "engine/math_mode.h"
#include "engine/rng.h"
#include "engine/tensor.h"
#include "engine/timer.h"
#include "kernels/precision.h"

#if FRCNN_WITH_CUDA
#include <cublas_v2.h>

#include "engine/cuda_check.h"
#endif

namespace frcnn {
namespace {

Tensor random_on(const Shape& s, Device d, uint32_t salt) {
  Tensor t = Tensor::empty(s, DType::F32, d);
  fill_uniform(t, RngKey{1234, salt});  // never zeros
  return t;
}

void BM_PeakCopyCpu(benchmark::State& st) {
  const size_t n = size_t(64) << 20;  // 256 MiB of floats each way: well past the caches
  std::vector<float> a(n, 1.5f), b(n);
  for (auto _ : st) {
    std::memcpy(b.data(), a.data(), n * sizeof(float));
    benchmark::DoNotOptimize(b.data());
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(2 * n * sizeof(float)));
}
BENCHMARK(BM_PeakCopyCpu)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_PeakSgemmCpu(benchmark::State& st) {
  const int n = static_cast<int>(st.range(0));
  Tensor a = random_on({n, n}, Device::cpu(), 1), b = random_on({n, n}, Device::cpu(), 2);
  Tensor c = Tensor::empty({n, n});
  for (auto _ : st)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a.data<float>(), n, b.data<float>(), n, 0.f,
                c.data<float>(), n);
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * n * n * st.iterations() * 1e-9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PeakSgemmCpu)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();

#if FRCNN_WITH_CUDA
void BM_PeakCopyCuda(benchmark::State& st) {
  if (!cuda_available()) {
    st.SkipWithError("no GPU");
    return;
  }
  Context ctx(Device::cuda());
  const int64_t n = int64_t(256) << 20;  // 1 GiB each way
  Tensor a = random_on({n}, ctx.device(), 3), b = Tensor::empty({n}, DType::F32, ctx.device());
  cudaStream_t s = cuda_stream(ctx.stream());
  for (auto _ : st) {
    CudaEventTimer t(ctx.stream());
    CUDA_CHECK(cudaMemcpyAsync(b.raw_data(), a.raw_data(), a.nbytes(), cudaMemcpyDeviceToDevice, s));
    t.stop();
    st.SetIterationTime(t.millis() / 1e3);
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(2 * a.nbytes()));
}
BENCHMARK(BM_PeakCopyCuda)->UseManualTime()->Unit(benchmark::kMillisecond);

// A large GEMM in the given math: fp32 is the ceiling of our FP32 kernels and of every
// fp32 row; tf32 (TF32 tensor cores) that of the tf32 rows.
void peak_gemm_cuda(benchmark::State& st, MathMode math) {
  if (!cuda_available()) {
    st.SkipWithError("no GPU");
    return;
  }
  Context ctx(Device::cuda());
  ctx.set_math_mode(math);
  const int n = static_cast<int>(st.range(0));
  Tensor a = random_on({n, n}, ctx.device(), 4), b = random_on({n, n}, ctx.device(), 5);
  Tensor c = Tensor::empty({n, n}, DType::F32, ctx.device());
  auto h = static_cast<cublasHandle_t>(ctx.cublas());
  const float one = 1.f, zero = 0.f;
  for (auto _ : st) {
    CudaEventTimer t(ctx.stream());
    cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a.data<float>(), n, b.data<float>(), n, &zero,
                c.data<float>(), n);
    t.stop();
    st.SetIterationTime(t.millis() / 1e3);
  }
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * n * n * st.iterations() * 1e-9, benchmark::Counter::kIsRate);
  cublasMath_t m = CUBLAS_DEFAULT_MATH;
  cublasGetMathMode(h, &m);  // what the handle really has, not what was asked for
  st.SetLabel(std::string(math_mode_name(math)) + (m == CUBLAS_TF32_TENSOR_OP_MATH ? " (CUBLAS_TF32_TENSOR_OP_MATH)"
                                                   : m == CUBLAS_DEFAULT_MATH      ? " (CUBLAS_DEFAULT_MATH)"
                                                                                   : " (other)"));
}
void BM_PeakSgemmCuda(benchmark::State& st) { peak_gemm_cuda(st, MathMode::Fp32); }
void BM_PeakTf32GemmCuda(benchmark::State& st) { peak_gemm_cuda(st, MathMode::Tf32); }
BENCHMARK(BM_PeakSgemmCuda)->Arg(8192)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PeakTf32GemmCuda)->Arg(8192)->UseManualTime()->Unit(benchmark::kMillisecond);

// The bf16 ceiling: the GEMM our bf16 Linear runs (cublasGemmEx, BF16 A and B, FP32 C and
// compute type, BF16 tensor cores), on operands converted to BF16 once, before timing.
void BM_PeakBf16GemmCuda(benchmark::State& st) {
  if (!cuda_available()) {
    st.SkipWithError("no GPU");
    return;
  }
  Context ctx(Device::cuda());
  ctx.set_math_mode(MathMode::Bf16);
  const int n = static_cast<int>(st.range(0));
  Tensor a = to_bf16(ctx, random_on({n, n}, ctx.device(), 4)), b = to_bf16(ctx, random_on({n, n}, ctx.device(), 5));
  Tensor c = Tensor::empty({n, n}, DType::F32, ctx.device());
  auto h = static_cast<cublasHandle_t>(ctx.cublas());
  const float one = 1.f, zero = 0.f;
  auto gemm = [&] {
    return cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a.raw_data(), CUDA_R_16BF, n, b.raw_data(),
                        CUDA_R_16BF, n, &zero, c.raw_data(), CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  };
  if (cublasStatus_t s = gemm(); s != CUBLAS_STATUS_SUCCESS) {  // also the warm-up
    st.SkipWithError(("cublasGemmEx failed with status " + std::to_string(int(s))).c_str());
    return;
  }
  for (auto _ : st) {
    CudaEventTimer t(ctx.stream());
    gemm();
    t.stop();
    st.SetIterationTime(t.millis() / 1e3);
  }
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * n * n * st.iterations() * 1e-9, benchmark::Counter::kIsRate);
  cublasMath_t m = CUBLAS_DEFAULT_MATH;
  cublasGetMathMode(h, &m);
  st.SetLabel(std::string("bf16 (cublasGemmEx CUDA_R_16BF A/B, CUDA_R_32F C, CUBLAS_COMPUTE_32F; ") +
              (m == CUBLAS_TF32_TENSOR_OP_MATH ? "CUBLAS_TF32_TENSOR_OP_MATH)"
               : m == CUBLAS_DEFAULT_MATH      ? "CUBLAS_DEFAULT_MATH)"
                                               : "other)"));
}
BENCHMARK(BM_PeakBf16GemmCuda)->Arg(8192)->UseManualTime()->Unit(benchmark::kMillisecond);
#endif

}  // namespace
}  // namespace frcnn
