// Layer benchmarks: our conv (forward, backward-data, backward-weight) vs cuDNN for every
// distinct conv shape of the detector at a 600x1000 input, Linear forward and backward vs
// bare cuBLAS calls for fc6/fc7 (CUDA) and vs bare cblas_sgemm calls (CPU), and CPU conv
// entries at a reduced size.
// Conv shapes (ConvShape, kShapes): the VGG16 layers, where conv5_1 also stands for conv5_2,
// conv5_3 and the RPN's 3x3 conv (all 512->512 3x3 pad 1 at 38x63: one row, not four copies),
// and the RPN's two 1x1 convs on conv5_3's map (600x1000 -> 38x63): rpn_cls 512->18 and
// rpn_bbox 512->36, pad 0. Every conv is stride 1 with pad = k / 2, so the output map is the
// input's size.
// Rows (CUDA names end in the precision, engine/math_mode.h; the label says what ran):
//   conv_cuda_own/<layer>/<pass>/fp32|tf32|bf16     our kernels: "own fp32 (FMA)", "own tf32
//                                                   (mma.sync m16n8k8)", "own bf16 (mma.sync m16n8k16)"
//   conv_cuda_cudnn/<layer>/<pass>/fp32|tf32|bf16   cuDNN: "<math>: " + the algorithm its plan
//                                                   picked and the math type it ran with (in tf32
//                                                   cuDNN may still rank an FMA kernel first). In
//                                                   bf16 the plan's pass alone on BF16 buffers
//                                                   converted before timing (x, w, dL/dy in BF16,
//                                                   y / dL/dx / dL/dw written in BF16), as cuDNN
//                                                   runs inside a BF16 network; the layer's entry
//                                                   points would add the per-call conversions.
//   conv_cuda_own_bf16act/<layer>/fwd/bf16         our bf16 forward with BF16 activations in and out
//                                                   (what bf16 inference runs), vs_cudnn against
//                                                   cuDNN's bf16 forward on the same BF16 buffers
//   conv_cuda_pool/<layer>/fused|unfused/<prec>     inference forward of the layers a 2x2 pool follows
//                                                   (conv1_2, conv2_2, conv3_3 = conv3_2, conv4_3 =
//                                                   conv4_2): conv2d_relu_maxpool_forward (the pool in
//                                                   our conv's epilogue) vs conv2d_forward + maxpool2d
//   conv_cpu/<layer>/<pass>_div10                   fp32 on oneDNN. No tf32 / bf16 CPU rows: the
//                                                   CPU path rounds the operands and then runs the
//                                                   same FP32 conv, so they would time the rounding.
//   conv_cpu_im2col/<layer>/<pass>_div10            the reference passes (im2col / col2im + OpenBLAS)
//                                                   that oneDNN replaced, same shapes
//   linear_cuda/<fc>[_bwd]/rows<R>/fp32|tf32|bf16   our Linear on a context in that precision
//   cublas_sgemm/<fc>[_bwd]/rows<R>/fp32|tf32       bare cublasSgemm calls, same products, same handle
//   cublas_gemmex_bf16/<fc>[_bwd]/rows<R>/bf16      bare cublasGemmEx calls on BF16 operands converted
//                                                   once before timing (our Linear converts x and
//                                                   dL/dy on every call, its weight once per change
//                                                   of the weight: ours / bare shows that cost)
//   linear_cpu/<fc>[_bwd]/rows<R>, cblas_sgemm_cpu/<fc>[_bwd]/rows<R>   fp32
// The Linear ratio (ours / bare GEMM) is formed by scripts/bench_table.py from the pairs
// linear_cuda/<x> : cublas_sgemm/<x> (fp32, tf32) or cublas_gemmex_bf16/<x> (bf16) and
// linear_cpu/<x> : cblas_sgemm_cpu/<x>.
// Counters: GFLOP/s (CPU: GFLOP as a rate, shown "/s"): 2 * N * Cout * Ho * Wo * Cin * k * k
// per conv pass, 2 * rows * in * out per GEMM. Our CUDA conv rows also time cuDNN on the same
// tensors, shape and pass, and report (> 1: ours is faster)
//   vs_cudnn       cuDNN's time / ours at the SAME precision (fp32, tf32, bf16)
// Cross-precision ratios are not counters: bench_table.py forms them from the rows' times.
// CUDA entries use manual time from CUDA events; without a GPU they report "no GPU".
// Inputs are uniform random (Philox), never zeros.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/context.h"
#include "engine/math_mode.h"
#include "engine/rng.h"
#include "engine/timer.h"
#include "kernels/conv2d.h"
#include "kernels/maxpool2d.h"
#include "kernels/precision.h"
#include "layers/conv2d_cudnn.h"
#include "layers/conv2d_layer.h"
#include "layers/linear.h"
#if FRCNN_WITH_CUDA
#include <cublas_v2.h>
#endif

using namespace frcnn;

namespace {

// A stride-1 conv with a k x k kernel and pad k / 2 (3x3 pad 1, 1x1 pad 0): the output map
// (h, w) is the input's.
struct ConvShape {
  const char* name;
  int64_t cin, cout, h, w, k;
  int64_t pad() const { return k / 2; }
  double flops(int64_t n) const { return 2.0 * double(n) * cout * h * w * cin * k * k; }  // one pass
};
// VGG16 at 600x1000: each pool halves with ceil rounding (600 300 150 75 38; 1000 500 250 125 63).
// conv3_3 = conv3_2, conv4_3 = conv4_2, and conv5_2 = conv5_3 = the RPN 3x3 = conv5_1 (same
// shape), so each is timed once. The RPN's 1x1 heads read conv5_3's 512x38x63 map: 9 anchors
// per position, 2 scores (rpn_cls, 18 channels) and 4 box deltas (rpn_bbox, 36) each.
const ConvShape kShapes[] = {
    {"conv1_1", 3, 64, 600, 1000, 3},   {"conv1_2", 64, 64, 600, 1000, 3},  {"conv2_1", 64, 128, 300, 500, 3},
    {"conv2_2", 128, 128, 300, 500, 3}, {"conv3_1", 128, 256, 150, 250, 3}, {"conv3_2", 256, 256, 150, 250, 3},
    {"conv4_1", 256, 512, 75, 125, 3},  {"conv4_2", 512, 512, 75, 125, 3},  {"conv5_1", 512, 512, 38, 63, 3},
    {"rpn_cls", 512, 18, 38, 63, 1},    {"rpn_bbox", 512, 36, 38, 63, 1},
};
enum Pass { Fwd = 0, BwdData = 1, BwdWeight = 2 };
const char* kPassName[] = {"fwd", "bwd_data", "bwd_weight"};

Tensor rand_tensor(Context& ctx, const Shape& s, uint64_t stream) {
  Tensor t = Tensor::empty(s, DType::F32, ctx.device(), ctx.stream());
  fill_uniform(t, RngKey{2024, stream}, ctx.stream());
  return t;
}

struct ConvBuffers {
  Tensor x, w, b, gy, gw, gb;
  // BF16 copies and outputs for cuDNN's bf16 passes (made by with_bf16()).
  Tensor x16, w16, b16, gy16, y16, gx16, gw16;
  int64_t pad;
  ConvBuffers(Context& ctx, int64_t n, const ConvShape& s) : pad(s.pad()) {
    x = rand_tensor(ctx, {n, s.cin, s.h, s.w}, 1);
    w = rand_tensor(ctx, {s.cout, s.cin, s.k, s.k}, 2);
    b = rand_tensor(ctx, {s.cout}, 3);
    gy = rand_tensor(ctx, {n, s.cout, s.h, s.w}, 4);
    gw = Tensor::zeros(w.shape(), DType::F32, ctx.device(), ctx.stream());
    gb = Tensor::zeros({s.cout}, DType::F32, ctx.device(), ctx.stream());
  }
  void with_bf16(Context& ctx) {
    x16 = to_bf16(ctx, x), w16 = to_bf16(ctx, w), b16 = to_bf16(ctx, b), gy16 = to_bf16(ctx, gy);
    y16 = Tensor::empty(gy.shape(), DType::BF16, ctx.device(), ctx.stream());
    gx16 = Tensor::empty(x.shape(), DType::BF16, ctx.device(), ctx.stream());
    gw16 = Tensor::empty(w.shape(), DType::BF16, ctx.device(), ctx.stream());
  }
};

// One pass in ctx's precision (stride 1, the shape's pad).
void run_pass(Context& ctx, ConvBuffers& t, Pass pass, bool cudnn) {
  Tensor none;
  const int64_t pad = t.pad;
  if (!cudnn) {
    if (pass == Fwd) conv2d_forward(ctx, t.x, t.w, t.b, pad, 1);
    if (pass == BwdData) conv2d_backward_data(ctx, t.gy, t.w, t.x.shape(), pad, 1);
    if (pass == BwdWeight) conv2d_backward_weight(ctx, t.x, t.gy, t.gw, none, pad, 1);
    return;
  }
#if FRCNN_WITH_CUDNN
  if (ctx.math_mode() == MathMode::Bf16) {  // the plan's pass on the BF16 buffers (see the top)
    if (!t.x16.defined()) t.with_bf16(ctx);
    CudnnConvPlan& plan = cudnn_conv_plan(ctx, conv2d_geom(t.x.shape(), t.w.shape(), pad, 1));
    if (pass == Fwd) plan.forward(ctx, t.x16.raw_data(), t.w16.raw_data(), t.b16.raw_data(), t.y16.raw_data());
    if (pass == BwdData) plan.backward_data(ctx, t.gy16.raw_data(), t.w16.raw_data(), t.gx16.raw_data());
    if (pass == BwdWeight) plan.backward_filter(ctx, t.x16.raw_data(), t.gy16.raw_data(), t.gw16.raw_data(), 0.f);
    return;
  }
#endif
#if FRCNN_WITH_CUDA
  if (pass == Fwd) conv2d_forward_cudnn(ctx, t.x, t.w, t.b, pad, 1);
  if (pass == BwdData) conv2d_backward_data_cudnn(ctx, t.gy, t.w, t.x.shape(), pad, 1);
  if (pass == BwdWeight) conv2d_backward_weight_cudnn(ctx, t.x, t.gy, t.gw, none, pad, 1);
#endif
}

#if FRCNN_WITH_CUDNN
// Median of `reps` event-timed runs, in ms (times the cuDNN reference of our rows: without
// cuDNN it is unused, and -Werror would refuse an unused function).
float median_ms(Context& ctx, ConvBuffers& t, Pass pass, bool cudnn, int reps) {
  std::vector<float> ms;
  CudaEventTimer timer(ctx.stream());
  for (int i = 0; i < reps; ++i) {
    timer.start();
    run_pass(ctx, t, pass, cudnn);
    timer.stop();
    ms.push_back(timer.millis());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// What cuDNN runs for this shape and pass under ctx's math mode (its plan's choice).
std::string cudnn_label(Context& ctx, const ConvBuffers& t, Pass pass) {
  const CudnnConvPlan& plan = cudnn_conv_plan(ctx, conv2d_geom(t.x.shape(), t.w.shape(), t.pad, 1));
  const CudnnAlgoChoice* c = plan.chosen(CudnnPass(int(pass)));
  return std::string(math_mode_name(ctx.math_mode())) + ": " + (c ? c->str() : "not chosen");
}
#endif

// What our kernels run in each precision (kernels/conv2d.h reads it from ctx.math_mode()).
const char* own_label(MathMode m) {
  switch (m) {
    case MathMode::Fp32: return "own fp32 (FMA)";
    case MathMode::Tf32: return "own tf32 (mma.sync m16n8k8)";
    case MathMode::Bf16: return "own bf16 (mma.sync m16n8k16)";
  }
  return "own ?";
}

// Google Benchmark's loop over run(), each iteration timed by CUDA events on ctx's stream
// (manual time); returns the mean ms per iteration.
template <class Run>
double timed_loop_ms(benchmark::State& state, Context& ctx, Run run) {
  CudaEventTimer timer(ctx.stream());
  double total_ms = 0;
  for (auto _ : state) {
    timer.start();
    run();
    timer.stop();
    const float ms = timer.millis();
    total_ms += ms;
    state.SetIterationTime(ms / 1e3);
  }
  return total_ms / double(state.iterations());
}

// One conv pass in `math`, ours or cuDNN's. Our rows first time cuDNN on the same shape in
// the same precision (vs_cudnn).
void BM_ConvCuda(benchmark::State& state, ConvShape s, Pass pass, bool cudnn, MathMode math) {
  if (!cuda_available()) {
    state.SkipWithError("no GPU");
    return;
  }
#if !FRCNN_WITH_CUDNN
  if (cudnn) {
    state.SkipWithError("built without cuDNN");
    return;
  }
#endif
  Context ctx(Device::cuda());
  ConvBuffers t(ctx, 1, s);
  float ref_ms = 0;
  if (!cudnn) {
#if FRCNN_WITH_CUDNN
    ctx.set_math_mode(math);
    run_pass(ctx, t, pass, true);  // warm-up: plan, algorithm, workspace
    ref_ms = median_ms(ctx, t, pass, true, 5);
#endif
  }
  ctx.set_math_mode(math);
  run_pass(ctx, t, pass, cudnn);  // warm-up (algorithm choice, allocator)
#if FRCNN_WITH_CUDNN
  state.SetLabel(cudnn ? cudnn_label(ctx, t, pass) : own_label(math));
#else
  state.SetLabel(own_label(math));
#endif
  const double mean_ms = timed_loop_ms(state, ctx, [&] { run_pass(ctx, t, pass, cudnn); });
  state.counters["GFLOP/s"] = s.flops(1) / (mean_ms * 1e6);
  if (ref_ms > 0) state.counters["vs_cudnn"] = ref_ms / mean_ms;  // > 1: ours is faster
}

// Our bf16 forward as bf16 inference runs it: BF16 x in, BF16 y out (kernels/conv2d.h), next
// to cuDNN's bf16 forward on the same BF16 buffers (vs_cudnn).
void BM_ConvBf16ActCuda(benchmark::State& state, ConvShape s) {
  if (!cuda_available()) {
    state.SkipWithError("no GPU");
    return;
  }
  Context ctx(Device::cuda());
  ctx.set_math_mode(MathMode::Bf16);
  ConvBuffers t(ctx, 1, s);
  t.with_bf16(ctx);
  float ref_ms = 0;
#if FRCNN_WITH_CUDNN
  run_pass(ctx, t, Fwd, true);  // warm-up: plan, algorithm, workspace
  ref_ms = median_ms(ctx, t, Fwd, true, 5);
#endif
  auto run = [&] { conv2d_forward(ctx, t.x16, t.w, t.b, t.pad, 1, /*relu=*/true, DType::BF16); };
  run();  // warm-up (allocator, the kernels' shared-memory opt-in)
  state.SetLabel(std::string(own_label(MathMode::Bf16)) + ", BF16 activations in and out");
  const double mean_ms = timed_loop_ms(state, ctx, run);
  state.counters["GFLOP/s"] = s.flops(1) / (mean_ms * 1e6);
  if (ref_ms > 0) state.counters["vs_cudnn"] = ref_ms / mean_ms;  // > 1: ours is faster
}

// Inference forward of a layer followed by VGG16's 2x2 pool, ours in `math`: the fused op, or
// the conv (with its fused ReLU) and then maxpool2d_forward (what the unfused layers run).
void BM_ConvPoolCuda(benchmark::State& state, ConvShape s, bool fused, MathMode math) {
  if (!cuda_available()) {
    state.SkipWithError("no GPU");
    return;
  }
  Context ctx(Device::cuda());
  ctx.set_math_mode(math);
  ConvBuffers t(ctx, 1, s);
  auto run = [&] {
    if (fused)
      conv2d_relu_maxpool_forward(ctx, t.x, t.w, t.b, t.pad, 1, 2);
    else
      maxpool2d_forward(ctx, conv2d_forward(ctx, t.x, t.w, t.b, t.pad, 1, /*relu=*/true), 2, 2);
  };
  run();  // warm-up (allocator, the kernels' shared-memory opt-in)
  state.SetLabel(std::string(own_label(math)) + (fused ? ", pool in the epilogue" : ", then maxpool2d"));
  state.counters["GFLOP/s"] = s.flops(1) / (timed_loop_ms(state, ctx, run) * 1e6);
}

// The CPU rows' reduced size: the shape's channels and kernel, 1/10 of its map (at least 8x8).
ConvShape div10(ConvShape s) {
  s.h = std::max<int64_t>(8, s.h / 10);
  s.w = std::max<int64_t>(8, s.w / 10);
  return s;
}

// CPU conv (oneDNN, what a CPU context runs) at div10 size.
void BM_ConvCpu(benchmark::State& state, ConvShape s, Pass pass) {
  Context ctx;
  ConvBuffers t(ctx, 1, div10(s));
  for (auto _ : state) run_pass(ctx, t, pass, false);
  state.SetLabel("fp32 (CPU, oneDNN)");
  state.counters["GFLOP"] =
      benchmark::Counter(div10(s).flops(1) * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

// The reference CPU passes (im2col / col2im + OpenBLAS, conv2d_*_cpu) on BM_ConvCpu's shape:
// what oneDNN replaced.
void BM_ConvCpuIm2col(benchmark::State& state, ConvShape s, Pass pass) {
  Context ctx;
  ConvBuffers t(ctx, 1, div10(s));
  const Conv2dGeom g = conv2d_geom(t.x.shape(), t.w.shape(), t.pad, 1);
  Tensor y = Tensor::empty({g.N, g.Cout, g.Ho, g.Wo}), gx = Tensor::empty(t.x.shape());
  for (auto _ : state) {
    if (pass == Fwd) conv2d_forward_cpu(g, t.x.data<float>(), t.w.data<float>(), t.b.data<float>(), y.data<float>());
    if (pass == BwdData) conv2d_backward_data_cpu(g, t.gy.data<float>(), t.w.data<float>(), gx.data<float>());
    if (pass == BwdWeight)
      conv2d_backward_weight_cpu(g, t.x.data<float>(), t.gy.data<float>(), t.gw.data<float>(), nullptr);
  }
  state.SetLabel("fp32 (CPU, im2col + OpenBLAS)");
  state.counters["GFLOP"] =
      benchmark::Counter(div10(s).flops(1) * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

// fc6 (25088 -> 4096) and fc7 (4096 -> 4096) with `rows` RoIs: our Linear (cuBLAS GEMMs
// + bias) on a context in `math`, or bare cuBLAS calls doing the same products on that
// context's handle: cublasSgemm in fp32 / tf32 (the handle's math mode decides), in bf16
// cublasGemmEx on BF16 copies of the operands made once, before timing (our Linear makes
// the activations' on every call, as a layer whose inputs change must, and its weight's once
// per change of the weight: layers/param_lowp.h).
// Forward: y = x W^T (one GEMM, 2*rows*in*out FLOP). Backward: dx = dy W and dW += dy^T x
// (two GEMMs, 4*rows*in*out FLOP; ours also reduces the bias gradient).
void BM_LinearCuda(benchmark::State& state, int64_t in, int64_t out, int64_t rows, bool bare, bool backward,
                   MathMode math) {
  if (!cuda_available()) {
    state.SkipWithError("no GPU");
    return;
  }
#if FRCNN_WITH_CUDA
  Context ctx(Device::cuda());
  ctx.set_math_mode(math);
  const bool bf16 = math == MathMode::Bf16;
  Linear fc("fc", in, out);
  fc.to(ctx);
  fill_uniform(fc.weight().value, RngKey{1, 1}, ctx.stream());
  fc.set_training(backward);
  Tensor x = rand_tensor(ctx, {rows, in}, 5);
  Tensor gy = rand_tensor(ctx, {rows, out}, 6);
  Tensor y = Tensor::empty({rows, out}, DType::F32, ctx.device(), ctx.stream());
  Tensor gx = Tensor::empty({rows, in}, DType::F32, ctx.device(), ctx.stream());
  Tensor gw = Tensor::zeros({out, in}, DType::F32, ctx.device(), ctx.stream());
  // The bare GEMMs' operands: the F32 tensors, or in bf16 their BF16 copies.
  Tensor Wo = fc.weight().value, xo = x, gyo = gy;
  if (bare && bf16) {
    Wo = to_bf16(ctx, Wo);
    xo = to_bf16(ctx, x);
    gyo = to_bf16(ctx, gy);
  }
  auto h = static_cast<cublasHandle_t>(ctx.cublas());
  cublasMath_t handle_math = CUBLAS_DEFAULT_MATH;
  cublasGetMathMode(h, &handle_math);  // what the handle really has
  const std::string handle_str = handle_math == CUBLAS_TF32_TENSOR_OP_MATH ? "CUBLAS_TF32_TENSOR_OP_MATH"
                                 : handle_math == CUBLAS_DEFAULT_MATH      ? "CUBLAS_DEFAULT_MATH"
                                                                           : "other math mode";
  state.SetLabel(std::string(math_mode_name(math)) +
                 (bf16 ? std::string(": cuBLAS GemmEx CUDA_R_16BF A/B, CUDA_R_32F C, CUBLAS_COMPUTE_32F (") +
                             (bare ? "operands converted before timing" : "operands converted per call") + "; " +
                             handle_str + ")"
                       : ": cuBLAS sgemm " + handle_str));
  if (backward && !bare) fc.forward(ctx, x);  // saves x for backward
  // C = op(A) op(B) + beta C, column-major, as the Linear's own cuBLAS half does it.
  auto gemm = [&](cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const Tensor& A, int lda,
                  const Tensor& B, int ldb, float beta, Tensor& C, int ldc) {
    const float one = 1.f;
    if (bf16)
      return cublasGemmEx(h, ta, tb, m, n, k, &one, A.raw_data(), CUDA_R_16BF, lda, B.raw_data(), CUDA_R_16BF, ldb,
                          &beta, C.raw_data(), CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    return cublasSgemm(h, ta, tb, m, n, k, &one, A.data<float>(), lda, B.data<float>(), ldb, &beta, C.data<float>(),
                       ldc);
  };
  // The last bare GEMM's status (ours throws on a failed call).
  auto run = [&]() -> cublasStatus_t {
    if (!bare) {
      if (backward)
        fc.backward(ctx, gy);
      else
        fc.forward(ctx, x);
      return CUBLAS_STATUS_SUCCESS;
    }
    const int R = int(rows), I = int(in), O = int(out);
    if (!backward)  // column-major view: y^T (out, rows) = W (out, in) x^T (in, rows)
      return gemm(CUBLAS_OP_T, CUBLAS_OP_N, O, R, I, Wo, I, xo, I, 0.f, y, O);
    // dx^T (in, rows) = W^T (in, out) dy^T (out, rows)
    cublasStatus_t st = gemm(CUBLAS_OP_N, CUBLAS_OP_N, I, R, O, Wo, I, gyo, O, 0.f, gx, I);
    if (st != CUBLAS_STATUS_SUCCESS) return st;
    // dW^T (in, out) += x^T (in, rows) dy (rows, out)
    return gemm(CUBLAS_OP_N, CUBLAS_OP_T, I, O, R, xo, I, gyo, O, 1.f, gw, I);
  };
  if (cublasStatus_t st = run(); st != CUBLAS_STATUS_SUCCESS) {  // warm-up, and the calls are valid
    const std::string what = bf16 ? "cublasGemmEx" : "cublasSgemm";
    state.SkipWithError((what + " failed with status " + std::to_string(int(st))).c_str());
    return;
  }
  const double mean_ms = timed_loop_ms(state, ctx, run);
  const double flops = (backward ? 4.0 : 2.0) * rows * in * out;
  state.counters["GFLOP/s"] = flops / (mean_ms * 1e6);
#endif
}

// The same on the CPU: our Linear (cblas_sgemm + bias loops) vs bare cblas_sgemm calls.
void BM_LinearCpu(benchmark::State& state, int64_t in, int64_t out, int64_t rows, bool bare, bool backward) {
  Context ctx;
  Linear fc("fc", in, out);
  fill_uniform(fc.weight().value, RngKey{1, 1});
  fc.set_training(backward);
  Tensor x = rand_tensor(ctx, {rows, in}, 5);
  Tensor gy = rand_tensor(ctx, {rows, out}, 6);
  Tensor y = Tensor::empty({rows, out}), gx = Tensor::empty({rows, in}), gw = Tensor::zeros({out, in});
  if (backward && !bare) fc.forward(ctx, x);
  const float* W = fc.weight().value.data<float>();
  const int R = int(rows), I = int(in), O = int(out);
  for (auto _ : state) {
    if (!bare) {
      if (backward)
        benchmark::DoNotOptimize(fc.backward(ctx, gy).raw_data());
      else
        benchmark::DoNotOptimize(fc.forward(ctx, x).raw_data());
    } else if (!backward) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, R, O, I, 1.f, x.data<float>(), I, W, I, 0.f,
                  y.data<float>(), O);
    } else {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R, I, O, 1.f, gy.data<float>(), O, W, I, 0.f,
                  gx.data<float>(), I);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, O, I, R, 1.f, gy.data<float>(), O, x.data<float>(), I, 1.f,
                  gw.data<float>(), I);
    }
  }
  state.SetLabel("fp32 (CPU)");
  const double flops = (backward ? 4.0 : 2.0) * rows * in * out;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * double(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
}

int register_all() {
  for (const ConvShape& s : kShapes) {
    const std::string layer = s.name;
    if (layer != "conv1_2" && layer != "conv2_2" && layer != "conv3_2" && layer != "conv4_2") continue;
    for (bool fused : {true, false})
      for (MathMode m : {MathMode::Fp32, MathMode::Tf32, MathMode::Bf16})
        benchmark::RegisterBenchmark(
            ("conv_cuda_pool/" + layer + (fused ? "/fused/" : "/unfused/") + math_mode_name(m)).c_str(),
            BM_ConvPoolCuda, s, fused, m)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
  }
  for (const ConvShape& s : kShapes)
    benchmark::RegisterBenchmark(("conv_cuda_own_bf16act/" + std::string(s.name) + "/fwd/bf16").c_str(),
                                 BM_ConvBf16ActCuda, s)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  for (const ConvShape& s : kShapes)
    for (int p = 0; p < 3; ++p) {
      std::string base = std::string(s.name) + "/" + kPassName[p];
      for (MathMode m : {MathMode::Fp32, MathMode::Tf32, MathMode::Bf16})
        benchmark::RegisterBenchmark(("conv_cuda_own/" + base + "/" + math_mode_name(m)).c_str(), BM_ConvCuda, s,
                                     Pass(p), false, m)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
      for (MathMode m : {MathMode::Fp32, MathMode::Tf32, MathMode::Bf16})
        benchmark::RegisterBenchmark(("conv_cuda_cudnn/" + base + "/" + math_mode_name(m)).c_str(), BM_ConvCuda, s,
                                     Pass(p), true, m)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("conv_cpu/" + base + "_div10").c_str(), BM_ConvCpu, s, Pass(p))
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();  // oneDNN / OpenBLAS threads: the main thread's CPU time undercounts
      benchmark::RegisterBenchmark(("conv_cpu_im2col/" + base + "_div10").c_str(), BM_ConvCpuIm2col, s, Pass(p))
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  for (int64_t rows : {128, 300}) {
    for (auto [name, in] : {std::pair<const char*, int64_t>{"fc6", 25088}, {"fc7", 4096}}) {
      for (bool bwd : {false, true}) {
        std::string base = std::string(name) + (bwd ? "_bwd" : "") + "/rows" + std::to_string(rows);
        for (MathMode m : {MathMode::Fp32, MathMode::Tf32, MathMode::Bf16}) {
          const std::string suffix = std::string("/") + math_mode_name(m);
          benchmark::RegisterBenchmark(("linear_cuda/" + base + suffix).c_str(), BM_LinearCuda, in, int64_t(4096), rows,
                                       false, bwd, m)
              ->UseManualTime()
              ->Unit(benchmark::kMillisecond);
          const char* bare = m == MathMode::Bf16 ? "cublas_gemmex_bf16/" : "cublas_sgemm/";
          benchmark::RegisterBenchmark((bare + base + suffix).c_str(), BM_LinearCuda, in, int64_t(4096), rows, true,
                                       bwd, m)
              ->UseManualTime()
              ->Unit(benchmark::kMillisecond);
        }
        benchmark::RegisterBenchmark(("linear_cpu/" + base).c_str(), BM_LinearCpu, in, int64_t(4096), rows, false, bwd)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
        benchmark::RegisterBenchmark(("cblas_sgemm_cpu/" + base).c_str(), BM_LinearCpu, in, int64_t(4096), rows, true, bwd)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
    }
  }
  return 0;
}

const int registered = register_all();

}  // namespace
