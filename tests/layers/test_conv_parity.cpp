// conv2d: CPU (im2col + BLAS) vs our CUDA kernels vs cuDNN on random shapes, odd sizes
// and C = 3 included, all three passes ([gpu]). Lives with the layers because the cuDNN
// backend is part of frcnn_layers.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "kernels/conv2d.h"
#include "layers/conv2d_layer.h"
#include "tests/gpu.h"
#include "tests/test_util.h"

using namespace frcnn;
using namespace frcnn::test;


TEST_CASE("conv2d: CPU vs own CUDA vs cuDNN on random shapes", "[kernels][conv2d][gpu]") {
  FRCNN_REQUIRE_GPU();
#if FRCNN_WITH_CUDA
  Context cpu, gpu(Device::cuda());
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
