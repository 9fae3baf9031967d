#include <catch2/catch.hpp>
#include <cstdlib>

#include "engine/context.h"
#include "engine/math_mode.h"
#include "tests/gpu.h"
#if FRCNN_WITH_CUDA
#include <cublas_v2.h>

#include "engine/cuda_check.h"
#endif

using namespace frcnn;

TEST_CASE("context: a CPU context has no stream and no library handles", "[context]") {
  Context ctx;
  REQUIRE(ctx.device().is_cpu());
  REQUIRE(ctx.stream().handle == nullptr);
  REQUIRE_THROWS_AS(ctx.cublas(), std::logic_error);
  ctx.synchronize();
}

TEST_CASE("context: a CUDA context owns a stream and creates handles once", "[context][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context ctx(Device::cuda());
  REQUIRE(ctx.stream().handle != nullptr);
  void* h = ctx.cublas();
  REQUIRE(h != nullptr);
  REQUIRE(ctx.cublas() == h);
}

TEST_CASE("context: math mode names, parsing and defaults", "[context][math]") {
  REQUIRE(parse_math_mode("fp32") == MathMode::Fp32);
  REQUIRE(parse_math_mode("tf32") == MathMode::Tf32);
  REQUIRE_THROWS_WITH(parse_math_mode("fp16"), Catch::Contains("'fp16'") && Catch::Contains("fp32, tf32"));
  REQUIRE(std::string(math_mode_name(MathMode::Tf32)) == "tf32");
  REQUIRE_THAT(math_mode_description(MathMode::Fp32),
               Catch::Contains("CUDNN_FMA_MATH") && Catch::Contains("CUBLAS_DEFAULT_MATH"));
  REQUIRE_THAT(math_mode_description(MathMode::Tf32), Catch::Contains("CUBLAS_TF32_TENSOR_OP_MATH"));
  Context ctx;
  REQUIRE(ctx.math_mode() == MathMode::Fp32);
  REQUIRE(ctx.deterministic());
  ctx.set_math_mode(MathMode::Tf32);  // a CPU context just records it
  REQUIRE(ctx.math_mode() == MathMode::Tf32);
}

TEST_CASE("context: the environment overrides NVIDIA's libraries read are reported", "[context][math]") {
  const char* old = std::getenv("NVIDIA_TF32_OVERRIDE");
  const std::string saved = old ? old : "";
  ::setenv("NVIDIA_TF32_OVERRIDE", "0", 1);
  REQUIRE_THAT(math_env_overrides(), Catch::Contains("NVIDIA_TF32_OVERRIDE=0") && Catch::Contains("never use TF32"));
  ::unsetenv("NVIDIA_TF32_OVERRIDE");
  if (!std::getenv("CUBLAS_EMULATE_SINGLE_PRECISION")) REQUIRE(math_env_overrides().empty());
  if (old) ::setenv("NVIDIA_TF32_OVERRIDE", saved.c_str(), 1);
}

TEST_CASE("context: the cuBLAS handle gets the context's math mode", "[context][gpu]") {
  FRCNN_REQUIRE_GPU();
#if FRCNN_WITH_CUDA
  auto mode = [](Context& c) {
    cublasMath_t m = CUBLAS_PEDANTIC_MATH;
    REQUIRE(cublasGetMathMode(static_cast<cublasHandle_t>(c.cublas()), &m) == CUBLAS_STATUS_SUCCESS);
    return m;
  };
  Context ctx(Device::cuda());
  REQUIRE(mode(ctx) == CUBLAS_DEFAULT_MATH);  // fp32: no TF32
  ctx.set_math_mode(MathMode::Tf32);          // applied to the existing handle
  REQUIRE(mode(ctx) == CUBLAS_TF32_TENSOR_OP_MATH);
  ctx.set_math_mode(MathMode::Fp32);
  REQUIRE(mode(ctx) == CUBLAS_DEFAULT_MATH);
  Context early(Device::cuda());
  early.set_math_mode(MathMode::Tf32);  // before the handle exists: applied when it is made
  REQUIRE(mode(early) == CUBLAS_TF32_TENSOR_OP_MATH);
  // The handle is bound to the context's stream.
  cudaStream_t s = nullptr;
  REQUIRE(cublasGetStream(static_cast<cublasHandle_t>(ctx.cublas()), &s) == CUBLAS_STATUS_SUCCESS);
  REQUIRE(s == cuda_stream(ctx.stream()));
#endif
}
