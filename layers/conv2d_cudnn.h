// cuDNN backend of Conv2d (conv2d_cudnn_cuda.cpp): convolution plans and the algorithm
// picker. Only with FRCNN_WITH_CUDNN (the header is empty otherwise); the layer-facing
// entry points are conv2d_forward_cudnn & co. in layers/conv2d_layer.h.
//
// A plan is what cuDNN needs for one convolution geometry under one policy (math mode and
// determinism, taken from the Context): the x / y / bias tensor, filter and convolution
// descriptors, and for each pass (forward, backward-data, backward-filter) the algorithm
// picked from cuDNN's heuristic ranking (cudnnGet*Algorithm_v7: no timing runs, so the
// choice does not depend on timing noise), the math type it runs with and its workspace
// size. A pass is chosen the first time it runs and reused afterwards. Plans live in the
// Context (Context::cache), keyed by (geometry, math, deterministic); all the plans of a
// context share one workspace that grows to the largest size needed (the calls run in
// order on the context's stream).
//
// Picking, per pass (cudnn_allowed_algos): cuDNN ranks candidates; the first one that
//   - reports CUDNN_STATUS_SUCCESS and needs at most workspace_cap bytes,
//   - is CUDNN_DETERMINISTIC when the policy asks for determinism,
//   - fp32: has math type CUDNN_FMA_MATH or CUDNN_DEFAULT_MATH and then runs with
//     CUDNN_FMA_MATH (DEFAULT itself permits TF32 on sm_80+); tensor-op math types are
//     rejected;
//     tf32: has any math type but CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION (which may convert
//     FP32 data down to FP16) and runs with the math type cuDNN ranked it with,
//     bf16: the same rule (ALLOW_CONVERSION may convert BF16 data to FP16, another range),
// and whose workspace size queried with that math type still fits the cap, is used. When
// none qualifies the call throws, listing every candidate and why it was refused: the
// backend never falls back to an algorithm that breaks the policy.
#pragma once
#if FRCNN_WITH_CUDNN
#include <cudnn.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/context.h"
#include "engine/math_mode.h"
#include "kernels/conv2d.h"

namespace frcnn {

enum class CudnnPass { Forward = 0, BackwardData = 1, BackwardFilter = 2 };
const char* cudnn_pass_name(CudnnPass p);        // "fwd" | "bwd_data" | "bwd_filter"
const char* cudnn_math_name(cudnnMathType_t m);  // "CUDNN_FMA_MATH", ...
// "IMPLICIT_PRECOMP_GEMM", "ALGO_1", ... (the enum's name without its pass prefix).
const char* cudnn_algo_name(CudnnPass p, int algo);

struct CudnnAlgoPolicy {
  MathMode math = MathMode::Fp32;
  bool deterministic = true;
  size_t workspace_cap = size_t(1) << 30;  // bytes (1 GiB)
};

// The descriptor math type algorithms are queried with: fp32 CUDNN_FMA_MATH (cuDNN then
// ranks FMA kernels only), tf32 CUDNN_DEFAULT_MATH (TF32 tensor-core and FMA kernels),
// bf16 CUDNN_TENSOR_OP_MATH (tensor-core kernels permitted on BF16 data).
cudnnMathType_t cudnn_query_math(MathMode m);
// The tensors' data type under a precision: F32, or BF16 in bf16 (x, w, y descriptors
// BFLOAT16 with a FLOAT convolution descriptor: FP32 accumulation).
DType cudnn_data_type(MathMode m);

// One row of cuDNN's ranked perf-result list, whichever the pass.
struct CudnnCandidate {
  int algo = 0;
  cudnnStatus_t status = CUDNN_STATUS_SUCCESS;
  size_t memory = 0;  // workspace bytes
  cudnnDeterminism_t determinism = CUDNN_DETERMINISTIC;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
};
// From cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t[n], in cuDNN's order.
template <class Perf>
std::vector<CudnnCandidate> cudnn_candidates(const Perf* perf, int n) {
  std::vector<CudnnCandidate> out;
  for (int i = 0; i < n; ++i)
    out.push_back(
        {static_cast<int>(perf[i].algo), perf[i].status, perf[i].memory, perf[i].determinism, perf[i].mathType});
  return out;
}

struct CudnnAlgoChoice {
  CudnnPass pass = CudnnPass::Forward;
  int algo = -1;
  cudnnMathType_t math = CUDNN_FMA_MATH;  // the convolution descriptor's math type when it runs
  size_t workspace = 0;                   // bytes
  bool deterministic = true;              // as cuDNN reports it
  int rank = 0;                           // position in cuDNN's ranking (0: its first choice)
  // "fwd IMPLICIT_PRECOMP_GEMM (rank 0), CUDNN_FMA_MATH, deterministic, workspace 0.00 MiB"
  std::string str() const;
};

// The candidates `policy` allows, in cuDNN's order, each with the math type to run it with
// (rules: header comment). `why_not`, when given, receives one line per refused candidate.
std::vector<CudnnAlgoChoice> cudnn_allowed_algos(CudnnPass pass, const std::vector<CudnnCandidate>& ranked,
                                                 const CudnnAlgoPolicy& policy,
                                                 std::vector<std::string>* why_not = nullptr);
// The first allowed candidate; throws std::runtime_error naming the pass, the policy and
// every candidate with the reason it was refused when there is none.
CudnnAlgoChoice pick_cudnn_algo(CudnnPass pass, const std::vector<CudnnCandidate>& ranked,
                                const CudnnAlgoPolicy& policy);

class CudnnConvPlan {
 public:
  CudnnConvPlan(const Conv2dGeom& g, const CudnnAlgoPolicy& policy);
  ~CudnnConvPlan();
  CudnnConvPlan(const CudnnConvPlan&) = delete;
  CudnnConvPlan& operator=(const CudnnConvPlan&) = delete;

  const Conv2dGeom& geom() const { return g_; }
  const CudnnAlgoPolicy& policy() const { return policy_; }
  // The pass's algorithm: chosen on the first call (cuDNN queries on handle h), then kept.
  const CudnnAlgoChoice& choose(cudnnHandle_t h, CudnnPass p);
  // nullptr while the pass has not been chosen yet.
  const CudnnAlgoChoice* chosen(CudnnPass p) const;
  // The convolution descriptor's math type now (cudnnGetConvolutionMathType), for tests.
  cudnnMathType_t descriptor_math() const;

  // The type of x, w, y, b, gx, gy, gw below: F32, or BF16 in bf16.
  DType data_type() const;
  // The passes on ctx's stream (pointers on ctx's device, shapes as geom(), data in
  // data_type() unless said): y = conv(x, w) (+ b, may be null); gx = conv_transpose(gy, w);
  // gw = dL/dw + beta gw (beta 1 accumulates); gb += dL/db, gy and gb FP32 in every precision.
  void forward(Context& ctx, const void* x, const void* w, const void* b, void* y);
  void backward_data(Context& ctx, const void* gy, const void* w, void* gx);
  void backward_filter(Context& ctx, const void* x, const void* gy, void* gw, float beta);
  void backward_bias(Context& ctx, const float* gy, float* gb);

 private:
  struct Descs;
  // What every pass starts with: the handle, the pass's algorithm, a workspace that fits
  // it, and the algorithm's math type set on the descriptor.
  struct Launch {
    cudnnHandle_t handle;
    const CudnnAlgoChoice& algo;
    void* workspace;
  };
  Launch prepare(Context& ctx, CudnnPass p);

  Conv2dGeom g_;
  CudnnAlgoPolicy policy_;
  std::unique_ptr<Descs> d_;
  std::unique_ptr<CudnnAlgoChoice> chosen_[3];
};

// The plan for geometry g under ctx's math mode and determinism, created on first use.
CudnnConvPlan& cudnn_conv_plan(Context& ctx, const Conv2dGeom& g);
// How many plans ctx holds.
size_t cudnn_conv_plan_count(Context& ctx);

}  // namespace frcnn
#endif  // FRCNN_WITH_CUDNN
