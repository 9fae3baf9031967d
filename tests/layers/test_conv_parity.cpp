// conv2d: CPU (oneDNN) vs our CUDA kernels vs cuDNN on random shapes, odd sizes
// and C = 3 included, all three passes ([gpu]). Lives with the layers because the cuDNN
// backend is part of frcnn_layers. cuDNN runs in fp32 here (CUDNN_FMA_MATH): TF32 would
// miss these tolerances by an order of magnitude. Its plans: one per (shape, math),
// what they report, and what tf32 changes ([gpu][cudnn]).
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "kernels/axpy.h"
#include "kernels/conv2d.h"
#include "kernels/precision.h"
#include "layers/conv2d_cudnn.h"
#include "layers/conv2d_layer.h"
#include "tests/gpu.h"
#include "tests/precision_bounds.h"
#include "tests/test_util.h"

using namespace frcnn;
using namespace frcnn::test;


TEST_CASE("conv2d: CPU vs own CUDA vs cuDNN on random shapes", "[kernels][conv2d][gpu]") {
  FRCNN_REQUIRE_GPU();
#if FRCNN_WITH_CUDA
  Context cpu, gpu(Device::cuda());
  gpu.set_math_mode(MathMode::Fp32);  // the default, said out loud: the tolerances are fp32's
  std::mt19937 gen(123);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(gen); };
  for (int trial = 0; trial < 12; ++trial) {
    const int64_t k = trial % 3 == 2 ? 1 : 3, pad = k == 3 ? 1 : 0, stride = trial % 5 == 4 ? 2 : 1;
    const int64_t N = pick(1, 2), Cin = trial == 0 ? 3 : pick(1, 70), Cout = pick(1, 150), H = pick(3, 37),
                  W = pick(3, 41);
    INFO("trial " << trial << ": N " << N << " Cin " << Cin << " Cout " << Cout << " H " << H << " W " << W << " k " << k
                  << " stride " << stride);
    Tensor x = random_tensor({N, Cin, H, W}, 10 + trial), w = random_tensor({Cout, Cin, k, k}, 50 + trial),
           b = random_tensor({Cout}, 90 + trial);
    Tensor y = conv2d_forward(cpu, x, w, b, pad, stride);
    Tensor gy = random_tensor(y.shape(), 130 + trial);
    Tensor gx = conv2d_backward_data(cpu, gy, w, x.shape(), pad, stride);
    Tensor gw = Tensor::zeros(w.shape()), gb = Tensor::zeros({Cout});
    conv2d_backward_weight(cpu, x, gy, gw, gb, pad, stride);
    const double tol = 1e-4 * std::sqrt(double(Cin * k * k + N * H * W));
    Tensor xd = x.to(gpu.device()), wd = w.to(gpu.device()), bd = b.to(gpu.device()), gyd = gy.to(gpu.device());
    for (int backend = 0; backend < 2; ++backend) {
#if !FRCNN_WITH_CUDNN
      if (backend == 1) break;
#endif
      Tensor yd, gxd, gwd = Tensor::zeros(w.shape(), DType::F32, gpu.device()),
                      gbd = Tensor::zeros({Cout}, DType::F32, gpu.device());
      if (backend == 0) {
        yd = conv2d_forward(gpu, xd, wd, bd, pad, stride);
        gxd = conv2d_backward_data(gpu, gyd, wd, x.shape(), pad, stride);
        conv2d_backward_weight(gpu, xd, gyd, gwd, gbd, pad, stride);
      } else {
        yd = conv2d_forward_cudnn(gpu, xd, wd, bd, pad, stride);
        gxd = conv2d_backward_data_cudnn(gpu, gyd, wd, x.shape(), pad, stride);
        conv2d_backward_weight_cudnn(gpu, xd, gyd, gwd, gbd, pad, stride);
      }
      gpu.synchronize();
      std::string tag = backend == 0 ? "own" : "cudnn";
      require_close(yd.to(Device::cpu()), y, tol, 1e-4, tag + " y");
      require_close(gxd.to(Device::cpu()), gx, tol, 1e-4, tag + " dx");
      require_close(gwd.to(Device::cpu()), gw, tol * 10, 1e-4, tag + " dw");
      require_close(gbd.to(Device::cpu()), gb, tol * 10, 1e-4, tag + " db");
#if FRCNN_WITH_CUDNN
      if (backend == 1) {  // what ran: FMA kernels, deterministic ones
        const CudnnConvPlan& plan = cudnn_conv_plan(gpu, conv2d_geom(x.shape(), w.shape(), pad, stride));
        for (CudnnPass p : {CudnnPass::Forward, CudnnPass::BackwardData, CudnnPass::BackwardFilter}) {
          REQUIRE(plan.chosen(p) != nullptr);
          INFO(plan.chosen(p)->str());
          REQUIRE(plan.chosen(p)->math == CUDNN_FMA_MATH);
          REQUIRE(plan.chosen(p)->deterministic);
        }
        REQUIRE(plan.descriptor_math() == CUDNN_FMA_MATH);
      }
#endif
    }
    // Deterministic: a second run of our kernels gives the same bits.
    Tensor gw2 = Tensor::zeros(w.shape(), DType::F32, gpu.device()), gw3 = Tensor::zeros(w.shape(), DType::F32, gpu.device());
    Tensor none;
    conv2d_backward_weight(gpu, xd, gyd, gw2, none, pad, stride);
    conv2d_backward_weight(gpu, xd, gyd, gw3, none, pad, stride);
    REQUIRE(gw2.to_vector<float>() == gw3.to_vector<float>());
  }
#endif
}

TEST_CASE("conv2d cuDNN: one plan per shape and math with the math type set and reported",
          "[layers][conv2d][gpu][cudnn]") {
  FRCNN_REQUIRE_GPU();
  FRCNN_REQUIRE_CUDNN();
#if FRCNN_WITH_CUDNN
  Context cpu, gpu(Device::cuda());
  const int64_t N = 2, Cin = 64, Cout = 96, H = 23, W = 31;
  Tensor x = random_tensor({N, Cin, H, W}, 1), w = random_tensor({Cout, Cin, 3, 3}, 2), b = random_tensor({Cout}, 3);
  Tensor y = conv2d_forward(cpu, x, w, b, 1, 1);
  Tensor gy = random_tensor(y.shape(), 4);
  Tensor gw = Tensor::zeros(w.shape()), gb = Tensor::zeros({Cout});
  conv2d_backward_weight(cpu, x, gy, gw, gb, 1, 1);
  Tensor xd = x.to(gpu.device()), wd = w.to(gpu.device()), bd = b.to(gpu.device()), gyd = gy.to(gpu.device());
  const Conv2dGeom g = conv2d_geom(x.shape(), w.shape(), 1, 1);
  const double tol = 1e-4 * std::sqrt(double(Cin * 9 + N * H * W));

  // fp32: the plan is made once and reused; a second geometry gets its own.
  REQUIRE(gpu.math_mode() == MathMode::Fp32);
  REQUIRE(gpu.deterministic());
  const size_t before = cudnn_conv_plan_count(gpu);
  Tensor y1 = conv2d_forward_cudnn(gpu, xd, wd, bd, 1, 1);
  Tensor y2 = conv2d_forward_cudnn(gpu, xd, wd, bd, 1, 1);
  REQUIRE(cudnn_conv_plan_count(gpu) == before + 1);
  conv2d_forward_cudnn(gpu, xd.slice(0, 1), wd, bd, 1, 1);
  REQUIRE(cudnn_conv_plan_count(gpu) == before + 2);
  REQUIRE(y1.to_vector<float>() == y2.to_vector<float>());
  require_close(y1.to(Device::cpu()), y, tol, 1e-4, "fp32 y");
  const CudnnConvPlan& p32 = cudnn_conv_plan(gpu, g);
  REQUIRE(p32.policy().math == MathMode::Fp32);
  REQUIRE(p32.chosen(CudnnPass::Forward)->math == CUDNN_FMA_MATH);
  REQUIRE(p32.chosen(CudnnPass::BackwardData) == nullptr);  // passes are chosen when first run

  // Deterministic backward-filter (+ bias): two runs, the same bits.
  Tensor gw1 = Tensor::zeros(w.shape(), DType::F32, gpu.device()),
         gw2 = Tensor::zeros(w.shape(), DType::F32, gpu.device());
  Tensor gb1 = Tensor::zeros({Cout}, DType::F32, gpu.device()), gb2 = Tensor::zeros({Cout}, DType::F32, gpu.device());
  conv2d_backward_weight_cudnn(gpu, xd, gyd, gw1, gb1, 1, 1);
  conv2d_backward_weight_cudnn(gpu, xd, gyd, gw2, gb2, 1, 1);
  REQUIRE(gw1.to_vector<float>() == gw2.to_vector<float>());
  REQUIRE(gb1.to_vector<float>() == gb2.to_vector<float>());
  REQUIRE(p32.chosen(CudnnPass::BackwardFilter)->deterministic);

  // tf32: a plan of its own, cuDNN's math type for it (never a down-conversion), a result
  // within TF32's error (10-bit mantissa: ~1e-3 relative per product, ~1e-2 on these sums;
  // cuDNN may also still rank an FMA kernel first, which passes too).
  gpu.set_math_mode(MathMode::Tf32);
  const size_t n32 = cudnn_conv_plan_count(gpu);
  Tensor yt = conv2d_forward_cudnn(gpu, xd, wd, bd, 1, 1);
  REQUIRE(cudnn_conv_plan_count(gpu) == n32 + 1);
  const CudnnConvPlan& ptf = cudnn_conv_plan(gpu, g);
  REQUIRE(&ptf != &p32);
  REQUIRE(ptf.policy().math == MathMode::Tf32);
  const CudnnAlgoChoice& c = *ptf.chosen(CudnnPass::Forward);
  INFO("tf32 forward: " << c.str());
  REQUIRE(c.math != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION);
  REQUIRE(ptf.descriptor_math() == c.math);
  require_close(yt.to(Device::cpu()), y, 5e-3 * std::sqrt(double(Cin * 9)), 1e-2, "tf32 y");
  // The fp32 plan is untouched by the switch and still runs FMA.
  gpu.set_math_mode(MathMode::Fp32);
  Tensor y3 = conv2d_forward_cudnn(gpu, xd, wd, bd, 1, 1);
  REQUIRE(y3.to_vector<float>() == y1.to_vector<float>());
  REQUIRE(cudnn_conv_plan(gpu, g).descriptor_math() == CUDNN_FMA_MATH);
#endif
}

// cuDNN bf16 (BF16 x, w, y; FLOAT convolution descriptor) against our CPU path in bf16,
// whose operands are rounded alike (kernels/precision.h) and summed in FP32. What differs,
// bounded per element with S = sum |rn(a)| |rn(b)| (tests/precision_bounds.h, u = 2^-8):
//   the summation order      4 gamma_K S (tensor cores truncate inside an mma),
//   cuDNN's output in BF16    u |y| <= u S (1 + 4 gamma_K),
//   forward's bias, in BF16   the bias rounded (u |b|) and the sum rounded again (u |y + b|),
// so forward within (4 gamma_K + 2u + 2u^2)(S + |b|) + 2^-23 |y| of the CPU result, the
// backward passes within (4 gamma_K + u + u^2) S; the bias gradient is FP32 (cuDNN sums
// the FP32 dL/dy). dL/dw accumulates into an FP32 gradient that starts non-zero.
TEST_CASE("conv2d cuDNN bf16: BF16 data, FP32 accumulation, within its bound of the CPU bf16 path",
          "[layers][conv2d][gpu][cudnn]") {
  FRCNN_REQUIRE_GPU();
  FRCNN_REQUIRE_CUDNN();
#if FRCNN_WITH_CUDNN
  Context cpu, gpu(Device::cuda());
  const double u = std::ldexp(1.0, -8);
  struct Shape3 {
    Shape x, w;
    int64_t pad, stride;
  };
  const Shape3 shapes[] = {{{2, 5, 7, 9}, {6, 5, 3, 3}, 1, 1},
                           {{1, 64, 23, 31}, {96, 64, 3, 3}, 1, 1},
                           {{1, 19, 6, 11}, {21, 19, 1, 1}, 0, 1},
                           {{2, 3, 11, 10}, {9, 3, 3, 3}, 1, 2}};
  uint32_t seed = 500;
  for (const Shape3& s : shapes) {
    INFO("x " << shape_str(s.x) << " w " << shape_str(s.w) << " stride " << s.stride);
    const Conv2dGeom g = conv2d_geom(s.x, s.w, s.pad, s.stride);
    const Tensor x = random_tensor(s.x, seed += 10), w = random_tensor(s.w, seed + 1),
                 b = random_tensor({g.Cout}, seed + 2), gy = random_tensor({g.N, g.Cout, g.Ho, g.Wo}, seed + 3),
                 gw0 = random_tensor(s.w, seed + 4);
    // The CPU path in bf16, and S of each pass.
    cpu.set_math_mode(MathMode::Bf16);
    const Tensor y = conv2d_forward(cpu, x, w, b, s.pad, s.stride);
    const Tensor gx = conv2d_backward_data(cpu, gy, w, s.x, s.pad, s.stride);
    Tensor gw = gw0.clone(), gb = Tensor::zeros({g.Cout});
    conv2d_backward_weight(cpu, x, gy, gw, gb, s.pad, s.stride);
    cpu.set_math_mode(MathMode::Fp32);
    const Tensor ax = abs_of(round_to_precision(cpu, x, MathMode::Bf16)),
                 aw = abs_of(round_to_precision(cpu, w, MathMode::Bf16)),
                 agy = abs_of(round_to_precision(cpu, gy, MathMode::Bf16));
    Tensor Sy = conv2d_forward(cpu, ax, aw, abs_of(b), s.pad, s.stride);  // S + |b|
    const Tensor Sgx = conv2d_backward_data(cpu, agy, aw, s.x, s.pad, s.stride);
    Tensor Sgw = Tensor::zeros(s.w), none;
    conv2d_backward_weight(cpu, ax, agy, Sgw, none, s.pad, s.stride);
    const double Ky = double(g.Cin * g.KH * g.KW), Kgx = double(g.Cout * g.KH * g.KW), Kgw = double(g.N * g.Ho * g.Wo);

    gpu.set_math_mode(MathMode::Bf16);
    auto dev = [&](const Tensor& t) { return t.to(gpu.device(), gpu.stream()); };
    const Tensor yd = conv2d_forward_cudnn(gpu, dev(x), dev(w), dev(b), s.pad, s.stride);
    // The weight handed in BF16 already (what a Conv2d layer does) gives the same bits.
    const Tensor yd16 = conv2d_forward_cudnn(gpu, dev(x), to_bf16(gpu, dev(w)), dev(b), s.pad, s.stride);
    const Tensor gxd = conv2d_backward_data_cudnn(gpu, dev(gy), dev(w), s.x, s.pad, s.stride);
    Tensor gwd = dev(gw0.clone()), gbd = dev(Tensor::zeros({g.Cout}));
    conv2d_backward_weight_cudnn(gpu, dev(x), dev(gy), gwd, gbd, s.pad, s.stride);
    gpu.synchronize();
    REQUIRE(yd.dtype() == DType::F32);
    REQUIRE(yd.to_vector<float>() == yd16.to_vector<float>());
    require_within(yd.to(Device::cpu()), y, Sy, 4 * gamma(int64_t(Ky)) + 2 * u + 2 * u * u + std::ldexp(1.0, -23),
                   "cudnn bf16 forward");
    require_within(gxd.to(Device::cpu()), gx, Sgx, 4 * gamma(int64_t(Kgx)) + u + u * u, "cudnn bf16 backward-data");
    // gw = gw0 + dL/dw: dL/dw's bound, plus the FP32 sum's rounding of |gw0| + S.
    Tensor Sgw_acc = Sgw.clone();
    tensor_axpy(cpu, 1.f, abs_of(gw0), Sgw_acc);
    require_within(gwd.to(Device::cpu()), gw, Sgw_acc, 4 * gamma(int64_t(Kgw)) + u + u * u + 1e-7,
                   "cudnn bf16 backward-filter");
    require_close(gbd.to(Device::cpu()), gb, 1e-5, 1e-5, "cudnn bf16 grad bias (fp32)");
    // Its own plan, BF16 data, a math type that never down-converts.
    const CudnnConvPlan& p = cudnn_conv_plan(gpu, g);
    REQUIRE(p.policy().math == MathMode::Bf16);
    REQUIRE(p.data_type() == DType::BF16);
    for (CudnnPass pass : {CudnnPass::Forward, CudnnPass::BackwardData, CudnnPass::BackwardFilter}) {
      REQUIRE(p.chosen(pass) != nullptr);
      INFO(p.chosen(pass)->str());
      REQUIRE(p.chosen(pass)->math != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION);
    }
    gpu.set_math_mode(MathMode::Fp32);
  }
#endif
}
