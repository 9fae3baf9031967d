// cuDNN backend of Conv2d: the correctness cross-check and speed yardstick for our own
// kernels. Plans, the algorithm picker and the math-type rules: layers/conv2d_cudnn.h.
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <tuple>

#include "engine/allocator.h"
#include "kernels/axpy.h"
#include "kernels/conv2d.h"
#include "kernels/precision.h"
#include "layers/conv2d_cudnn.h"
#include "layers/conv2d_layer.h"
#if FRCNN_WITH_CUDNN
#include <cudnn.h>
#endif

namespace frcnn {

#if FRCNN_WITH_CUDNN
namespace {

void cudnn_check(cudnnStatus_t st, const char* what) {
  if (st != CUDNN_STATUS_SUCCESS)
    throw std::runtime_error(std::string("conv2d (cuDNN): ") + what + ": " + cudnnGetErrorString(st));
}

std::string mib(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f MiB", double(bytes) / double(1 << 20));
  return buf;
}

std::string policy_str(const CudnnAlgoPolicy& p) {
  return std::string(math_mode_name(p.math)) + (p.deterministic ? ", deterministic" : ", any determinism") +
         ", workspace cap " + mib(p.workspace_cap);
}

std::string candidate_str(CudnnPass pass, const CudnnCandidate& c, int rank) {
  return std::string(cudnn_algo_name(pass, c.algo)) + " (rank " + std::to_string(rank) + ", " +
         cudnn_math_name(c.math) + ", " +
         (c.determinism == CUDNN_DETERMINISTIC ? "deterministic" : "non-deterministic") + ", " + mib(c.memory) + ")";
}

// Plans of one context, keyed by geometry, math mode and determinism, plus the workspace
// they share (every call runs in order on the context's stream).
struct CudnnConvCache {
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int, bool>;
  std::map<Key, std::unique_ptr<CudnnConvPlan>> plans;
  Buffer workspace;

  void* workspace_for(Context& ctx, size_t bytes) {
    if (bytes == 0) return nullptr;
    if (workspace.bytes() < bytes) {
      workspace.reset();  // stream-ordered free: the next use is on the same stream
      workspace = Buffer(bytes, ctx.device(), ctx.stream());
    }
    return workspace.data();
  }
};

CudnnConvCache::Key plan_key(const Conv2dGeom& g, const CudnnAlgoPolicy& p) {
  return {g.N, g.Cin, g.H, g.W, g.Cout, g.KH, g.KW, g.pad, g.stride, int(p.math), p.deterministic};
}

}  // namespace

const char* cudnn_pass_name(CudnnPass p) {
  switch (p) {
    case CudnnPass::Forward: return "fwd";
    case CudnnPass::BackwardData: return "bwd_data";
    case CudnnPass::BackwardFilter: return "bwd_filter";
  }
  return "?";
}

const char* cudnn_math_name(cudnnMathType_t m) {
  switch (m) {
    case CUDNN_DEFAULT_MATH: return "CUDNN_DEFAULT_MATH";
    case CUDNN_TENSOR_OP_MATH: return "CUDNN_TENSOR_OP_MATH";
    case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION: return "CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION";
    case CUDNN_FMA_MATH: return "CUDNN_FMA_MATH";
  }
  return "unknown cudnnMathType_t";
}

const char* cudnn_algo_name(CudnnPass p, int algo) {
  static const char* const fwd[] = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT", "FFT_TILING",
                                    "WINOGRAD",      "WINOGRAD_NONFUSED"};
  static const char* const bwd_data[] = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
  static const char* const bwd_filter[] = {"ALGO_0",    "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED",
                                           "FFT_TILING"};
  auto at = [algo](const char* const* names, int n) { return algo >= 0 && algo < n ? names[algo] : "unknown algo"; };
  switch (p) {
    case CudnnPass::Forward: return at(fwd, 8);
    case CudnnPass::BackwardData: return at(bwd_data, 6);
    case CudnnPass::BackwardFilter: return at(bwd_filter, 7);
  }
  return "?";
}

cudnnMathType_t cudnn_query_math(MathMode m) {
  switch (m) {
    case MathMode::Fp32: return CUDNN_FMA_MATH;
    case MathMode::Tf32: return CUDNN_DEFAULT_MATH;
    case MathMode::Bf16: return CUDNN_TENSOR_OP_MATH;
  }
  return CUDNN_FMA_MATH;
}

DType cudnn_data_type(MathMode m) { return m == MathMode::Bf16 ? DType::BF16 : DType::F32; }

std::string CudnnAlgoChoice::str() const {
  return std::string(cudnn_pass_name(pass)) + " " + cudnn_algo_name(pass, algo) + " (rank " + std::to_string(rank) +
         "), " + cudnn_math_name(math) + ", " + (deterministic ? "deterministic" : "non-deterministic") +
         ", workspace " + mib(workspace);
}

std::vector<CudnnAlgoChoice> cudnn_allowed_algos(CudnnPass pass, const std::vector<CudnnCandidate>& ranked,
                                                 const CudnnAlgoPolicy& policy, std::vector<std::string>* why_not) {
  std::vector<CudnnAlgoChoice> out;
  for (int i = 0; i < int(ranked.size()); ++i) {
    const CudnnCandidate& c = ranked[size_t(i)];
    std::string why;
    if (c.status != CUDNN_STATUS_SUCCESS)
      why = std::string("status ") + cudnnGetErrorString(c.status);
    else if (c.memory > policy.workspace_cap)
      why = "workspace above the cap";
    else if (policy.deterministic && c.determinism != CUDNN_DETERMINISTIC)
      why = "non-deterministic";
    else if (policy.math == MathMode::Fp32 && c.math != CUDNN_FMA_MATH && c.math != CUDNN_DEFAULT_MATH)
      why = std::string("math ") + cudnn_math_name(c.math) + " is not fp32";
    else if (policy.math == MathMode::Tf32 && c.math != CUDNN_FMA_MATH && c.math != CUDNN_DEFAULT_MATH &&
             c.math != CUDNN_TENSOR_OP_MATH)
      why = std::string("math ") + cudnn_math_name(c.math) + " may convert FP32 data below TF32";
    else if (policy.math == MathMode::Bf16 && c.math != CUDNN_FMA_MATH && c.math != CUDNN_DEFAULT_MATH &&
             c.math != CUDNN_TENSOR_OP_MATH)
      why = std::string("math ") + cudnn_math_name(c.math) + " may convert BF16 data to FP16";
    if (!why.empty()) {
      if (why_not) why_not->push_back(candidate_str(pass, c, i) + ": " + why);
      continue;
    }
    CudnnAlgoChoice a;
    a.pass = pass;
    a.algo = c.algo;
    a.math = policy.math == MathMode::Fp32 ? CUDNN_FMA_MATH : c.math;
    a.workspace = c.memory;
    a.deterministic = c.determinism == CUDNN_DETERMINISTIC;
    a.rank = i;
    out.push_back(a);
  }
  return out;
}

namespace {

[[noreturn]] void throw_no_algo(CudnnPass pass, const CudnnAlgoPolicy& policy, size_t n,
                                const std::vector<std::string>& why_not) {
  std::string msg = std::string("conv2d (cuDNN): no ") + cudnn_pass_name(pass) + " algorithm qualifies under " +
                    policy_str(policy) + " (" + std::to_string(n) + " candidates from cuDNN)";
  for (const std::string& w : why_not) msg += "\n  " + w;
  throw std::runtime_error(msg);
}

}  // namespace

CudnnAlgoChoice pick_cudnn_algo(CudnnPass pass, const std::vector<CudnnCandidate>& ranked,
                                const CudnnAlgoPolicy& policy) {
  std::vector<std::string> why_not;
  std::vector<CudnnAlgoChoice> ok = cudnn_allowed_algos(pass, ranked, policy, &why_not);
  if (ok.empty()) throw_no_algo(pass, policy, ranked.size(), why_not);
  return ok.front();
}

// RAII descriptors for one convolution geometry: x, y, w, b in the plan's data type (FLOAT,
// or BFLOAT16 in bf16: cuDNN's "pseudo bfloat16" configuration, which computes in FLOAT as
// the convolution descriptor says), y32 and b32 in FLOAT for the bias gradient.
struct CudnnConvPlan::Descs {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, b = nullptr, y32 = nullptr, b32 = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  Descs(const Conv2dGeom& g, cudnnDataType_t dt) {
    try {
      cudnn_check(cudnnCreateTensorDescriptor(&x), "create x desc");
      cudnn_check(cudnnCreateTensorDescriptor(&y), "create y desc");
      cudnn_check(cudnnCreateTensorDescriptor(&b), "create bias desc");
      cudnn_check(cudnnCreateTensorDescriptor(&y32), "create fp32 y desc");
      cudnn_check(cudnnCreateTensorDescriptor(&b32), "create fp32 bias desc");
      cudnn_check(cudnnCreateFilterDescriptor(&w), "create filter desc");
      cudnn_check(cudnnCreateConvolutionDescriptor(&conv), "create conv desc");
      cudnn_check(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, dt, int(g.N), int(g.Cin), int(g.H), int(g.W)),
                  "x desc");
      cudnn_check(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, dt, int(g.N), int(g.Cout), int(g.Ho), int(g.Wo)),
                  "y desc");
      cudnn_check(cudnnSetTensor4dDescriptor(b, CUDNN_TENSOR_NCHW, dt, 1, int(g.Cout), 1, 1), "bias desc");
      cudnn_check(cudnnSetTensor4dDescriptor(y32, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(g.N), int(g.Cout),
                                             int(g.Ho), int(g.Wo)),
                  "fp32 y desc");
      cudnn_check(cudnnSetTensor4dDescriptor(b32, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, int(g.Cout), 1, 1),
                  "fp32 bias desc");
      cudnn_check(cudnnSetFilter4dDescriptor(w, dt, CUDNN_TENSOR_NCHW, int(g.Cout), int(g.Cin), int(g.KH), int(g.KW)),
                  "filter desc");
      cudnn_check(cudnnSetConvolution2dDescriptor(conv, int(g.pad), int(g.pad), int(g.stride), int(g.stride), 1, 1,
                                                  CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                  "conv desc");
    } catch (...) {
      destroy();
      throw;
    }
  }
  ~Descs() { destroy(); }
  void destroy() noexcept {
    if (x) cudnnDestroyTensorDescriptor(x);
    if (y) cudnnDestroyTensorDescriptor(y);
    if (b) cudnnDestroyTensorDescriptor(b);
    if (y32) cudnnDestroyTensorDescriptor(y32);
    if (b32) cudnnDestroyTensorDescriptor(b32);
    if (w) cudnnDestroyFilterDescriptor(w);
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
    x = y = b = y32 = b32 = nullptr;
    w = nullptr;
    conv = nullptr;
  }
  void set_math(cudnnMathType_t m) { cudnn_check(cudnnSetConvolutionMathType(conv, m), "set math type"); }
  Descs(const Descs&) = delete;
  Descs& operator=(const Descs&) = delete;
};

CudnnConvPlan::CudnnConvPlan(const Conv2dGeom& g, const CudnnAlgoPolicy& policy)
    : g_(g),
      policy_(policy),
      d_(std::make_unique<Descs>(g, policy.math == MathMode::Bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT)) {
  d_->set_math(cudnn_query_math(policy.math));
}

CudnnConvPlan::~CudnnConvPlan() = default;

const CudnnAlgoChoice* CudnnConvPlan::chosen(CudnnPass p) const { return chosen_[int(p)].get(); }

cudnnMathType_t CudnnConvPlan::descriptor_math() const {
  cudnnMathType_t m = CUDNN_DEFAULT_MATH;
  cudnn_check(cudnnGetConvolutionMathType(d_->conv, &m), "get math type");
  return m;
}

const CudnnAlgoChoice& CudnnConvPlan::choose(cudnnHandle_t h, CudnnPass p) {
  if (const CudnnAlgoChoice* c = chosen(p)) return *c;
  Descs& d = *d_;
  // Query with the mode's query math type: it tells cuDNN which kernels to rank.
  d.set_math(cudnn_query_math(policy_.math));
  std::vector<CudnnCandidate> ranked;
  int n = 0;
  if (p == CudnnPass::Forward) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    cudnn_check(
        cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf),
        "forward algorithm");
    ranked = cudnn_candidates(perf, n);
  } else if (p == CudnnPass::BackwardData) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    cudnn_check(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y, d.conv, d.x,
                                                            CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf),
                "backward-data algorithm");
    ranked = cudnn_candidates(perf, n);
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    cudnn_check(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x, d.y, d.conv, d.w,
                                                              CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf),
                "backward-filter algorithm");
    ranked = cudnn_candidates(perf, n);
  }
  std::vector<std::string> why_not;
  for (CudnnAlgoChoice a : cudnn_allowed_algos(p, ranked, policy_, &why_not)) {
    // The workspace an algorithm needs depends on the math type it runs with: ask again
    // with that one set, and keep the candidate only if it still fits.
    d.set_math(a.math);
    size_t bytes = 0;
    cudnnStatus_t st;
    if (p == CudnnPass::Forward)
      st = cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y, cudnnConvolutionFwdAlgo_t(a.algo), &bytes);
    else if (p == CudnnPass::BackwardData)
      st = cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w, d.y, d.conv, d.x, cudnnConvolutionBwdDataAlgo_t(a.algo),
                                                        &bytes);
    else
      st = cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x, d.y, d.conv, d.w,
                                                          cudnnConvolutionBwdFilterAlgo_t(a.algo), &bytes);
    if (st != CUDNN_STATUS_SUCCESS || bytes > policy_.workspace_cap) {
      why_not.push_back(a.str() + ": " +
                        (st != CUDNN_STATUS_SUCCESS ? std::string("workspace query: ") + cudnnGetErrorString(st)
                                                    : "workspace with " + std::string(cudnn_math_name(a.math)) + " " +
                                                          mib(bytes) + " above the cap"));
      continue;
    }
    a.workspace = bytes;
    chosen_[int(p)] = std::make_unique<CudnnAlgoChoice>(a);
    return *chosen_[int(p)];
  }
  throw_no_algo(p, policy_, ranked.size(), why_not);
}

CudnnConvPlan::Launch CudnnConvPlan::prepare(Context& ctx, CudnnPass p) {
  auto h = static_cast<cudnnHandle_t>(ctx.cudnn());
  const CudnnAlgoChoice& a = choose(h, p);
  void* ws = ctx.cache<CudnnConvCache>().workspace_for(ctx, a.workspace);
  d_->set_math(a.math);  // cuDNN picks the kernel from algorithm AND descriptor math type
  return {h, a, ws};
}

DType CudnnConvPlan::data_type() const { return cudnn_data_type(policy_.math); }

void CudnnConvPlan::forward(Context& ctx, const void* x, const void* w, const void* b, void* y) {
  const Launch l = prepare(ctx, CudnnPass::Forward);
  const float one = 1.f, zero = 0.f;
  cudnn_check(cudnnConvolutionForward(l.handle, &one, d_->x, x, d_->w, w, d_->conv,
                                      cudnnConvolutionFwdAlgo_t(l.algo.algo), l.workspace, l.algo.workspace, &zero,
                                      d_->y, y),
              "forward");
  if (b) cudnn_check(cudnnAddTensor(l.handle, &one, d_->b, b, &one, d_->y, y), "bias add");
}

void CudnnConvPlan::backward_data(Context& ctx, const void* gy, const void* w, void* gx) {
  const Launch l = prepare(ctx, CudnnPass::BackwardData);
  const float one = 1.f, zero = 0.f;
  cudnn_check(cudnnConvolutionBackwardData(l.handle, &one, d_->w, w, d_->y, gy, d_->conv,
                                           cudnnConvolutionBwdDataAlgo_t(l.algo.algo), l.workspace, l.algo.workspace,
                                           &zero, d_->x, gx),
              "backward-data");
}

void CudnnConvPlan::backward_filter(Context& ctx, const void* x, const void* gy, void* gw, float beta) {
  const Launch l = prepare(ctx, CudnnPass::BackwardFilter);
  const float one = 1.f;
  cudnn_check(cudnnConvolutionBackwardFilter(l.handle, &one, d_->x, x, d_->y, gy, d_->conv,
                                             cudnnConvolutionBwdFilterAlgo_t(l.algo.algo), l.workspace,
                                             l.algo.workspace, &beta, d_->w, gw),
              "backward-filter");
}

void CudnnConvPlan::backward_bias(Context& ctx, const float* gy, float* gb) {
  auto h = static_cast<cudnnHandle_t>(ctx.cudnn());
  const float one = 1.f;
  cudnn_check(cudnnConvolutionBackwardBias(h, &one, d_->y32, gy, &one, d_->b32, gb), "backward-bias");
}

CudnnConvPlan& cudnn_conv_plan(Context& ctx, const Conv2dGeom& g) {
  if (!ctx.is_cuda()) throw std::invalid_argument("conv2d (cuDNN): a plan needs a CUDA context");
  CudnnAlgoPolicy policy;
  policy.math = ctx.math_mode();
  policy.deterministic = ctx.deterministic();
  CudnnConvCache& cache = ctx.cache<CudnnConvCache>();
  std::unique_ptr<CudnnConvPlan>& p = cache.plans[plan_key(g, policy)];
  if (!p) p = std::make_unique<CudnnConvPlan>(g, policy);
  return *p;
}

size_t cudnn_conv_plan_count(Context& ctx) { return ctx.cache<CudnnConvCache>().plans.size(); }

namespace {

void check_cuda_tensors(const Context& ctx, std::initializer_list<const Tensor*> ts, const char* op) {
  if (!ctx.is_cuda()) throw std::invalid_argument(std::string(op) + ": the cuDNN backend needs a CUDA context");
  for (const Tensor* t : ts)
    if (t->defined() && t->device() != ctx.device())
      throw std::invalid_argument(std::string(op) + ": tensor on " + t->device().str() + ", context on " +
                                  ctx.device().str());
}

// An operand in the plan's data type: the tensor itself when it is, else a BF16 copy of
// the F32 tensor (bf16: activations are converted per call; a Conv2d layer hands its
// weight's BF16 copy, layers/param_lowp.h, so that one is not).
Tensor as_operand(Context& ctx, const Tensor& t, DType dt, const char* what) {
  if (t.dtype() == dt) return t;
  if (dt == DType::BF16 && t.dtype() == DType::F32) return to_bf16(ctx, t);
  throw std::invalid_argument(std::string(what) + " is " + dtype_name(t.dtype()) + ", precision " +
                              math_mode_name(ctx.math_mode()) + " takes " + dtype_name(dt) +
                              (dt == DType::BF16 ? " or F32" : ""));
}

// What a pass returns: F32, or in bf16 cuDNN's BF16 result widened (exact).
Tensor as_f32(Context& ctx, const Tensor& t) { return t.dtype() == DType::F32 ? t : bf16_to_f32(ctx, t); }

}  // namespace

Tensor conv2d_forward_cudnn(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, int64_t pad,
                            int64_t stride) {
  Conv2dGeom g = conv2d_geom(x.shape(), w.shape(), pad, stride);
  if (b.defined()) b.check_shape({g.Cout}, "conv2d_forward_cudnn: bias");
  check_cuda_tensors(ctx, {&x, &w, &b}, "conv2d_forward_cudnn");
  const DType dt = cudnn_data_type(ctx.math_mode());
  const Tensor wo = as_operand(ctx, w, dt, "conv2d_forward_cudnn: weight");
  if (b.defined()) b.check_dtype(DType::F32, "conv2d_forward_cudnn: bias");
  Tensor y = Tensor::empty({g.N, g.Cout, g.Ho, g.Wo}, dt, ctx.device(), ctx.stream());
  if (g.N == 0) return as_f32(ctx, y);
  // In bf16 the bias is added to the BF16 result in BF16 (cuDNN's configuration), so y is
  // rounded twice: conv(x, w) to BF16, then that + b.
  const Tensor xo = as_operand(ctx, x, dt, "conv2d_forward_cudnn: x"),
               bo = b.defined() ? as_operand(ctx, b, dt, "conv2d_forward_cudnn: bias") : Tensor();
  cudnn_conv_plan(ctx, g).forward(ctx, xo.raw_data(), wo.raw_data(), bo.defined() ? bo.raw_data() : nullptr,
                                  y.raw_data());
  return as_f32(ctx, y);
}

Tensor conv2d_backward_data_cudnn(Context& ctx, const Tensor& gy, const Tensor& w, const Shape& x_shape, int64_t pad,
                                  int64_t stride) {
  Conv2dGeom g = conv2d_geom(x_shape, w.shape(), pad, stride);
  gy.check_shape({g.N, g.Cout, g.Ho, g.Wo}, "conv2d_backward_data_cudnn: grad_out");
  gy.check_dtype(DType::F32, "conv2d_backward_data_cudnn: grad_out");
  check_cuda_tensors(ctx, {&gy, &w}, "conv2d_backward_data_cudnn");
  const DType dt = cudnn_data_type(ctx.math_mode());
  const Tensor wo = as_operand(ctx, w, dt, "conv2d_backward_data_cudnn: weight");
  Tensor gx = Tensor::empty(x_shape, dt, ctx.device(), ctx.stream());
  if (g.N == 0) return as_f32(ctx, gx);
  const Tensor gyo = as_operand(ctx, gy, dt, "conv2d_backward_data_cudnn: grad_out");
  cudnn_conv_plan(ctx, g).backward_data(ctx, gyo.raw_data(), wo.raw_data(), gx.raw_data());
  return as_f32(ctx, gx);
}

void conv2d_backward_weight_cudnn(Context& ctx, const Tensor& x, const Tensor& gy, Tensor& gw, Tensor& gb, int64_t pad,
                                  int64_t stride) {
  Conv2dGeom g = conv2d_geom(x.shape(), gw.shape(), pad, stride);
  gy.check_shape({g.N, g.Cout, g.Ho, g.Wo}, "conv2d_backward_weight_cudnn: grad_out");
  x.check_dtype(DType::F32, "conv2d_backward_weight_cudnn: x");
  gy.check_dtype(DType::F32, "conv2d_backward_weight_cudnn: grad_out");
  gw.check_dtype(DType::F32, "conv2d_backward_weight_cudnn: grad_weight");
  if (gb.defined()) gb.check_shape({g.Cout}, "conv2d_backward_weight_cudnn: grad_bias");
  check_cuda_tensors(ctx, {&x, &gy, &gw, &gb}, "conv2d_backward_weight_cudnn");
  if (g.N == 0) return;
  CudnnConvPlan& plan = cudnn_conv_plan(ctx, g);
  const DType dt = plan.data_type();
  if (dt == DType::F32) {
    plan.backward_filter(ctx, x.raw_data(), gy.raw_data(), gw.raw_data(), 1.f);  // beta 1: grads accumulate
  } else {
    // The filter descriptor's type is the data's: dL/dw comes out in BF16, into a scratch
    // tensor, and is added to the FP32 gradient (which accumulates in FP32).
    const Tensor xo = as_operand(ctx, x, dt, "conv2d_backward_weight_cudnn: x"),
                 gyo = as_operand(ctx, gy, dt, "conv2d_backward_weight_cudnn: grad_out");
    Tensor gw16 = Tensor::empty(gw.shape(), dt, ctx.device(), ctx.stream());
    plan.backward_filter(ctx, xo.raw_data(), gyo.raw_data(), gw16.raw_data(), 0.f);
    tensor_axpy(ctx, 1.f, bf16_to_f32(ctx, gw16), gw);
  }
  if (gb.defined()) plan.backward_bias(ctx, gy.data<float>(), gb.data<float>());  // FP32 in every precision
}

#else  // CUDA without cuDNN: the switch exists, the backend does not.

Tensor conv2d_forward_cudnn(Context&, const Tensor&, const Tensor&, const Tensor&, int64_t, int64_t) {
  throw std::runtime_error("conv_backend cudnn: this frcnn was built without cuDNN");
}
Tensor conv2d_backward_data_cudnn(Context&, const Tensor&, const Tensor&, const Shape&, int64_t, int64_t) {
  throw std::runtime_error("conv_backend cudnn: this frcnn was built without cuDNN");
}
void conv2d_backward_weight_cudnn(Context&, const Tensor&, const Tensor&, Tensor&, Tensor&, int64_t, int64_t) {
  throw std::runtime_error("conv_backend cudnn: this frcnn was built without cuDNN");
}

#endif

}  // namespace frcnn
