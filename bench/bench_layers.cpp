// Layer benchmarks: our conv (forward, backward-data, backward-weight) vs cuDNN for
// every distinct VGG16 conv shape at a 600x1000 input, Linear forward and backward vs
// direct cublasSgemm calls for fc6/fc7 (CUDA) and vs direct cblas_sgemm calls (CPU),
// and CPU conv entries at a reduced size. The Linear ratio (ours / bare GEMM) is formed
// by scripts/bench_table.py from the pairs linear_cuda/<x> : cublas_sgemm/<x> and linear_cpu/<x> : cblas_sgemm_cpu/<x>.
// Counters: GFLOP/s (CPU: GFLOP as a rate, shown "/s") (2 * N * Cout * Ho * Wo * Cin * k * k per pass) and, for our
// CUDA kernels, vs_cudnn = our GFLOP/s / cuDNN's GFLOP/s on the same shape and pass in fp32, vs_cudnn_tf32 the same
// against cuDNN in tf32.
// Math (engine/math_mode.h): every CUDA row's name ends in its math mode, /fp32 or /tf32, and its label says what
// ran: for cuDNN the algorithm picked and the math type it ran with (in tf32 mode cuDNN may still rank an FMA kernel
// first), for cuBLAS the handle's math mode, for our kernels "own fp32" (they have no TF32 path: one row each).
// CPU rows are fp32 (OpenBLAS) and labelled so.
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
#include "layers/conv2d_cudnn.h"
#include "layers/conv2d_layer.h"
#include "layers/linear.h"
#if FRCNN_WITH_CUDA
#include <cublas_v2.h>
#endif

using namespace frcnn;

namespace {

struct ConvShape {
  const char* name;
  int64_t cin, cout, h, w;
};
// VGG16 at 600x1000: each pool halves with ceil rounding (600 300 150 75 38; 1000 500 250 125 63).
const ConvShape kVgg[] = {
    {"conv1_1", 3, 64, 600, 1000},  {"conv1_2", 64, 64, 600, 1000},  {"conv2_1", 64, 128, 300, 500},
    {"conv2_2", 128, 128, 300, 500}, {"conv3_1", 128, 256, 150, 250}, {"conv3_2", 256, 256, 150, 250},
    {"conv4_1", 256, 512, 75, 125},  {"conv4_2", 512, 512, 75, 125},  {"conv5_1", 512, 512, 38, 63},
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
  ConvBuffers(Context& ctx, int64_t n, const ConvShape& s) {
    x = rand_tensor(ctx, {n, s.cin, s.h, s.w}, 1);
    w = rand_tensor(ctx, {s.cout, s.cin, 3, 3}, 2);
    b = rand_tensor(ctx, {s.cout}, 3);
    gy = rand_tensor(ctx, {n, s.cout, s.h, s.w}, 4);
    gw = Tensor::zeros(w.shape(), DType::F32, ctx.device(), ctx.stream());
    gb = Tensor::zeros({s.cout}, DType::F32, ctx.device(), ctx.stream());
  }
};

void run_pass(Context& ctx, ConvBuffers& t, Pass pass, bool cudnn) {
  Tensor none;
  if (!cudnn) {
    if (pass == Fwd) conv2d_forward(ctx, t.x, t.w, t.b, 1, 1);
    if (pass == BwdData) conv2d_backward_data(ctx, t.gy, t.w, t.x.shape(), 1, 1);
    if (pass == BwdWeight) conv2d_backward_weight(ctx, t.x, t.gy, t.gw, none, 1, 1);
    return;
  }
#if FRCNN_WITH_CUDA
  if (pass == Fwd) conv2d_forward_cudnn(ctx, t.x, t.w, t.b, 1, 1);
  if (pass == BwdData) conv2d_backward_data_cudnn(ctx, t.gy, t.w, t.x.shape(), 1, 1);
  if (pass == BwdWeight) conv2d_backward_weight_cudnn(ctx, t.x, t.gy, t.gw, none, 1, 1);
#endif
}

// Median of `reps` event-timed runs, in ms.
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

#if FRCNN_WITH_CUDNN
// What cuDNN runs for this shape and pass under ctx's math mode (its plan's choice).
std::string cudnn_label(Context& ctx, const ConvBuffers& t, Pass pass) {
  const CudnnConvPlan& plan = cudnn_conv_plan(ctx, conv2d_geom(t.x.shape(), t.w.shape(), 1, 1));
  const CudnnAlgoChoice* c = plan.chosen(CudnnPass(int(pass)));
  return std::string(math_mode_name(ctx.math_mode())) + ": " + (c ? c->str() : "not chosen");
}
#endif

// `math` is the context's for cuDNN; our kernels ignore it (registered with fp32 only).
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
  const double flops = 2.0 * s.cout * s.h * s.w * s.cin * 9;
  float ref_ms = 0, ref_tf32_ms = 0;
  if (!cudnn) {
#if FRCNN_WITH_CUDNN
    for (MathMode m : {MathMode::Fp32, MathMode::Tf32}) {
      ctx.set_math_mode(m);
      run_pass(ctx, t, pass, true);  // warm-up: plan, algorithm, workspace
      (m == MathMode::Fp32 ? ref_ms : ref_tf32_ms) = median_ms(ctx, t, pass, true, 5);
    }
#endif
  }
  ctx.set_math_mode(math);
  run_pass(ctx, t, pass, cudnn);  // warm-up (algorithm choice, allocator)
#if FRCNN_WITH_CUDNN
  state.SetLabel(cudnn ? cudnn_label(ctx, t, pass) : "own fp32 (FMA)");
#else
  state.SetLabel("own fp32 (FMA)");
#endif
  CudaEventTimer timer(ctx.stream());
  double total_ms = 0;
  for (auto _ : state) {
    timer.start();
    run_pass(ctx, t, pass, cudnn);
    timer.stop();
    float ms = timer.millis();
    total_ms += ms;
    state.SetIterationTime(ms / 1e3);
  }
  const double mean_ms = total_ms / double(state.iterations());
  state.counters["GFLOP/s"] = flops / (mean_ms * 1e6);
  if (ref_ms > 0) state.counters["vs_cudnn"] = ref_ms / mean_ms;  // > 1: ours is faster
  if (ref_tf32_ms > 0) state.counters["vs_cudnn_tf32"] = ref_tf32_ms / mean_ms;
}

// CPU conv at a reduced size (the VGG channel counts, 1/10 of the 600x1000 map).
void BM_ConvCpu(benchmark::State& state, ConvShape s, Pass pass) {
  Context ctx;
  ConvShape small = s;
  small.h = std::max<int64_t>(8, s.h / 10);
  small.w = std::max<int64_t>(8, s.w / 10);
  ConvBuffers t(ctx, 1, small);
  const double flops = 2.0 * small.cout * small.h * small.w * small.cin * 9;
  for (auto _ : state) run_pass(ctx, t, pass, false);
  state.SetLabel("fp32 (CPU)");
  state.counters["GFLOP"] = benchmark::Counter(flops * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

// fc6 (25088 -> 4096) and fc7 (4096 -> 4096) with `rows` RoIs: our Linear (cuBLAS gemm
// + bias) and bare cublasSgemm calls doing the same products, on a handle in `math`.
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
  Linear fc("fc", in, out);
  fc.to(ctx);
  fill_uniform(fc.weight().value, RngKey{1, 1}, ctx.stream());
  fc.set_training(backward);
  Tensor x = rand_tensor(ctx, {rows, in}, 5);
  Tensor gy = rand_tensor(ctx, {rows, out}, 6);
  Tensor y = Tensor::empty({rows, out}, DType::F32, ctx.device(), ctx.stream());
  Tensor gx = Tensor::empty({rows, in}, DType::F32, ctx.device(), ctx.stream());
  Tensor gw = Tensor::zeros({out, in}, DType::F32, ctx.device(), ctx.stream());
  auto h = static_cast<cublasHandle_t>(ctx.cublas());
  cublasMath_t handle_math = CUBLAS_DEFAULT_MATH;
  cublasGetMathMode(h, &handle_math);  // what the handle really has
  state.SetLabel(std::string(math_mode_name(math)) +
                 (handle_math == CUBLAS_TF32_TENSOR_OP_MATH ? ": cuBLAS CUBLAS_TF32_TENSOR_OP_MATH"
                  : handle_math == CUBLAS_DEFAULT_MATH      ? ": cuBLAS CUBLAS_DEFAULT_MATH"
                                                            : ": cuBLAS other math mode"));
  if (backward && !bare) fc.forward(ctx, x);  // saves x for backward
  auto run = [&] {
    const float one = 1.f, zero = 0.f;
    if (!bare) {
      if (backward)
        fc.backward(ctx, gy);
      else
        fc.forward(ctx, x);
      return;
    }
    const float* W = fc.weight().value.data<float>();
    if (!backward) {  // column-major view: y^T (out, rows) = W (out, in) x^T (in, rows)
      cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, int(out), int(rows), int(in), &one, W, int(in), x.data<float>(), int(in),
                  &zero, y.data<float>(), int(out));
      return;
    }
    // dx^T (in, rows) = W^T (in, out) dy^T (out, rows)
    cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, int(in), int(rows), int(out), &one, W, int(in), gy.data<float>(), int(out),
                &zero, gx.data<float>(), int(in));
    // dW^T (in, out) += x^T (in, rows) dy (rows, out)
    cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, int(in), int(out), int(rows), &one, x.data<float>(), int(in),
                gy.data<float>(), int(out), &one, gw.data<float>(), int(in));
  };
  run();
  CudaEventTimer timer(ctx.stream());
  double total_ms = 0;
  for (auto _ : state) {
    timer.start();
    run();
    timer.stop();
    float ms = timer.millis();
    total_ms += ms;
    state.SetIterationTime(ms / 1e3);
  }
  const double flops = (backward ? 4.0 : 2.0) * rows * in * out;
  state.counters["GFLOP/s"] = flops / (total_ms / double(state.iterations()) * 1e6);
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
  for (const ConvShape& s : kVgg)
    for (int p = 0; p < 3; ++p) {
      std::string base = std::string(s.name) + "/" + kPassName[p];
      benchmark::RegisterBenchmark(("conv_cuda_own/" + base + "/fp32").c_str(), BM_ConvCuda, s, Pass(p), false,
                                   MathMode::Fp32)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
      for (MathMode m : {MathMode::Fp32, MathMode::Tf32})
        benchmark::RegisterBenchmark(("conv_cuda_cudnn/" + base + "/" + math_mode_name(m)).c_str(), BM_ConvCuda, s,
                                     Pass(p), true, m)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("conv_cpu/" + base + "_div10").c_str(), BM_ConvCpu, s, Pass(p))
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();  // OpenBLAS threads: the main thread's CPU time undercounts
    }
  for (int64_t rows : {128, 300}) {
    for (auto [name, in] : {std::pair<const char*, int64_t>{"fc6", 25088}, {"fc7", 4096}}) {
      for (bool bwd : {false, true}) {
        std::string base = std::string(name) + (bwd ? "_bwd" : "") + "/rows" + std::to_string(rows);
        for (MathMode m : {MathMode::Fp32, MathMode::Tf32}) {
          const std::string suffix = std::string("/") + math_mode_name(m);
          benchmark::RegisterBenchmark(("linear_cuda/" + base + suffix).c_str(), BM_LinearCuda, in, int64_t(4096), rows,
                                       false, bwd, m)
              ->UseManualTime()
              ->Unit(benchmark::kMillisecond);
          benchmark::RegisterBenchmark(("cublas_sgemm/" + base + suffix).c_str(), BM_LinearCuda, in, int64_t(4096),
                                       rows, true, bwd, m)
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
