// conv2d: CPU (oneDNN) vs our CUDA kernels vs cuDNN on random shapes, odd sizes
// and C = 3 included, all three passes ([gpu]). Lives with the layers because the cuDNN
// backend is part of frcnn_layers. cuDNN runs in fp32 here (CUDNN_FMA_MATH): TF32 would
// miss these tolerances by an order of magnitude. Its plans: one per (shape, math),
// what they report, and what tf32 changes ([gpu][cudnn]).
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "kernels/conv2d.h"
#include "layers/conv2d_cudnn.h"
#include "layers/conv2d_layer.h"
#include "tests/gpu.h"
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
