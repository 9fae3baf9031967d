// The cuDNN algorithm picker (layers/conv2d_cudnn.h) on fabricated perf-result lists: the
// math-type, determinism, status and workspace rules, and the error when nothing
// qualifies. Pure functions over cuDNN's structs: no GPU needed, only the cuDNN headers
// (the regular build; the emulated one has no cuDNN).
#include <catch2/catch.hpp>

#if FRCNN_WITH_CUDNN
#include <cudnn.h>

#include "layers/conv2d_cudnn.h"

using namespace frcnn;

namespace {

CudnnCandidate cand(int algo, cudnnMathType_t math, cudnnDeterminism_t det = CUDNN_DETERMINISTIC, size_t memory = 0,
                    cudnnStatus_t status = CUDNN_STATUS_SUCCESS) {
  CudnnCandidate c;
  c.algo = algo;
  c.math = math;
  c.determinism = det;
  c.memory = memory;
  c.status = status;
  return c;
}

CudnnAlgoPolicy policy(MathMode m, bool deterministic = true, size_t cap = size_t(1) << 30) {
  CudnnAlgoPolicy p;
  p.math = m;
  p.deterministic = deterministic;
  p.workspace_cap = cap;
  return p;
}

}  // namespace

TEST_CASE("cudnn picker: fp32 refuses tensor-op math and runs FMA", "[cudnn][conv2d]") {
  // cuDNN's ranking as it could come back on an sm_90 GPU: TF32 kernels first.
  const std::vector<CudnnCandidate> ranked = {
      cand(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_TENSOR_OP_MATH),
      cand(CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION),
      cand(CUDNN_CONVOLUTION_FWD_ALGO_GEMM, CUDNN_DEFAULT_MATH),
      cand(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_FMA_MATH)};
  std::vector<std::string> why;
  auto ok = cudnn_allowed_algos(CudnnPass::Forward, ranked, policy(MathMode::Fp32), &why);
  REQUIRE(ok.size() == 2);
  REQUIRE(why.size() == 2);
  REQUIRE_THAT(why[0], Catch::Contains("CUDNN_TENSOR_OP_MATH is not fp32"));
  REQUIRE_THAT(why[1], Catch::Contains("CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION is not fp32"));
  // A DEFAULT_MATH candidate is kept but runs with FMA_MATH: DEFAULT permits TF32 on sm_80+.
  REQUIRE(ok[0].algo == CUDNN_CONVOLUTION_FWD_ALGO_GEMM);
  REQUIRE(ok[0].math == CUDNN_FMA_MATH);
  REQUIRE(ok[0].rank == 2);
  REQUIRE(ok[1].math == CUDNN_FMA_MATH);
  const CudnnAlgoChoice c = pick_cudnn_algo(CudnnPass::Forward, ranked, policy(MathMode::Fp32));
  REQUIRE(c.algo == CUDNN_CONVOLUTION_FWD_ALGO_GEMM);
  REQUIRE_THAT(c.str(), Catch::Contains("fwd GEMM (rank 2), CUDNN_FMA_MATH, deterministic"));
  REQUIRE(cudnn_query_math(MathMode::Fp32) == CUDNN_FMA_MATH);
}

TEST_CASE("cudnn picker: tf32 keeps cuDNN's math type but never down-conversion", "[cudnn][conv2d]") {
  const std::vector<CudnnCandidate> ranked = {
      cand(CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION),
      cand(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_TENSOR_OP_MATH),
      cand(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_FMA_MATH)};
  std::vector<std::string> why;
  auto ok = cudnn_allowed_algos(CudnnPass::Forward, ranked, policy(MathMode::Tf32), &why);
  REQUIRE(ok.size() == 2);
  REQUIRE(ok[0].algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM);
  REQUIRE(ok[0].math == CUDNN_TENSOR_OP_MATH);
  REQUIRE(ok[1].math == CUDNN_FMA_MATH);
  REQUIRE(why.size() == 1);
  REQUIRE_THAT(why[0], Catch::Contains("below TF32"));
  REQUIRE(cudnn_query_math(MathMode::Tf32) == CUDNN_DEFAULT_MATH);
  // A DEFAULT_MATH candidate runs with DEFAULT_MATH (TF32 allowed) in tf32 mode.
  auto d = pick_cudnn_algo(CudnnPass::Forward, {cand(0, CUDNN_DEFAULT_MATH)}, policy(MathMode::Tf32));
  REQUIRE(d.math == CUDNN_DEFAULT_MATH);
}

TEST_CASE("cudnn picker: bf16 queries tensor-op math, keeps cuDNN's math type, never down-conversion",
          "[cudnn][conv2d]") {
  const std::vector<CudnnCandidate> ranked = {
      cand(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION),
      cand(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_TENSOR_OP_MATH),
      cand(CUDNN_CONVOLUTION_FWD_ALGO_GEMM, CUDNN_FMA_MATH)};
  std::vector<std::string> why;
  auto ok = cudnn_allowed_algos(CudnnPass::Forward, ranked, policy(MathMode::Bf16), &why);
  REQUIRE(ok.size() == 2);
  REQUIRE(ok[0].rank == 1);
  REQUIRE(ok[0].math == CUDNN_TENSOR_OP_MATH);
  REQUIRE(ok[1].math == CUDNN_FMA_MATH);
  REQUIRE(why.size() == 1);
  REQUIRE_THAT(why[0], Catch::Contains("BF16 data to FP16"));
  REQUIRE(cudnn_query_math(MathMode::Bf16) == CUDNN_TENSOR_OP_MATH);
  REQUIRE(cudnn_data_type(MathMode::Bf16) == DType::BF16);
  REQUIRE(cudnn_data_type(MathMode::Tf32) == DType::F32);
  REQUIRE(cudnn_data_type(MathMode::Fp32) == DType::F32);
}

TEST_CASE("cudnn picker: determinism, status and the workspace cap", "[cudnn][conv2d]") {
  const std::vector<CudnnCandidate> ranked = {
      cand(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, CUDNN_FMA_MATH, CUDNN_NON_DETERMINISTIC),
      cand(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT, CUDNN_FMA_MATH, CUDNN_DETERMINISTIC, size_t(3) << 30),
      cand(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3, CUDNN_FMA_MATH, CUDNN_DETERMINISTIC, 0, CUDNN_STATUS_NOT_SUPPORTED),
      cand(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, CUDNN_FMA_MATH, CUDNN_DETERMINISTIC, size_t(5) << 20)};
  std::vector<std::string> why;
  const CudnnAlgoChoice c = cudnn_allowed_algos(CudnnPass::BackwardFilter, ranked, policy(MathMode::Fp32), &why).at(0);
  REQUIRE(c.algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1);
  REQUIRE(c.workspace == size_t(5) << 20);
  REQUIRE(c.deterministic);
  REQUIRE(c.rank == 3);
  REQUIRE(why.size() == 3);
  REQUIRE_THAT(why[0], Catch::Contains("ALGO_0") && Catch::Contains("non-deterministic"));
  REQUIRE_THAT(why[1], Catch::Contains("FFT") && Catch::Contains("workspace above the cap"));
  REQUIRE_THAT(why[2], Catch::Contains("ALGO_3") && Catch::Contains("status"));

  // Without the determinism requirement cuDNN's first choice is taken; a larger cap
  // admits the FFT one.
  REQUIRE(pick_cudnn_algo(CudnnPass::BackwardFilter, ranked, policy(MathMode::Fp32, false)).algo ==
          CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0);
  REQUIRE(pick_cudnn_algo(CudnnPass::BackwardFilter, ranked, policy(MathMode::Fp32, true, size_t(4) << 30)).algo ==
          CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT);
}

TEST_CASE("cudnn picker: nothing qualifies is an error listing every candidate", "[cudnn][conv2d]") {
  const std::vector<CudnnCandidate> ranked = {
      cand(CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, CUDNN_FMA_MATH, CUDNN_NON_DETERMINISTIC),
      cand(CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, CUDNN_TENSOR_OP_MATH)};
  try {
    pick_cudnn_algo(CudnnPass::BackwardData, ranked, policy(MathMode::Fp32));
    FAIL("expected an error");
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    INFO(msg);
    REQUIRE_THAT(msg, Catch::Contains("no bwd_data algorithm qualifies under fp32, deterministic"));
    REQUIRE_THAT(msg, Catch::Contains("2 candidates"));
    REQUIRE_THAT(msg, Catch::Contains("ALGO_0 (rank 0") && Catch::Contains("non-deterministic"));
    REQUIRE_THAT(msg, Catch::Contains("ALGO_1 (rank 1") && Catch::Contains("is not fp32"));
  }
  REQUIRE_THROWS_WITH(pick_cudnn_algo(CudnnPass::Forward, {}, policy(MathMode::Tf32)), Catch::Contains("0 candidates"));
}

TEST_CASE("cudnn picker: candidates read from cuDNN's perf structs in order", "[cudnn][conv2d]") {
  cudnnConvolutionFwdAlgoPerf_t perf[2] = {};
  perf[0].algo = CUDNN_CONVOLUTION_FWD_ALGO_FFT;
  perf[0].status = CUDNN_STATUS_SUCCESS;
  perf[0].memory = 123;
  perf[0].determinism = CUDNN_NON_DETERMINISTIC;
  perf[0].mathType = CUDNN_TENSOR_OP_MATH;
  perf[1].algo = CUDNN_CONVOLUTION_FWD_ALGO_DIRECT;
  perf[1].status = CUDNN_STATUS_NOT_SUPPORTED;
  perf[1].mathType = CUDNN_FMA_MATH;
  auto c = cudnn_candidates(perf, 2);
  REQUIRE(c.size() == 2);
  REQUIRE(c[0].algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT);
  REQUIRE(c[0].memory == 123);
  REQUIRE(c[0].determinism == CUDNN_NON_DETERMINISTIC);
  REQUIRE(c[0].math == CUDNN_TENSOR_OP_MATH);
  REQUIRE(c[1].status == CUDNN_STATUS_NOT_SUPPORTED);
  REQUIRE(std::string(cudnn_algo_name(CudnnPass::Forward, c[1].algo)) == "DIRECT");
  REQUIRE(std::string(cudnn_algo_name(CudnnPass::BackwardFilter, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING)) ==
          "FFT_TILING");
}
#endif
