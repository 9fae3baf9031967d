#include <algorithm>
#include <cstring>
#include <numeric>

#include "kernels/roi_pool.h"
#include "tests/gpu.h"
#include "tests/kernels/kernel_test_util.h"

using namespace frcnn;
using namespace frcnn::test;

// (N, C, H, W) of distinct values spaced 0.01 apart (no ties in any max), shuffled.
static Tensor distinct_features(int N, int C, int H, int W, uint32_t seed) {
  std::vector<float> v(size_t(N) * C * H * W);
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.01f * float(i) - 0.005f * float(v.size());
  std::mt19937 gen(seed);
  std::shuffle(v.begin(), v.end(), gen);
  return Tensor::from_vector<float>({N, C, H, W}, v);
}

// (R, 5) RoIs over an image of feat * stride pixels, some partly outside.
static Tensor random_rois(int R, int N, int H, int W, float stride, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> ux(-20.f, W * stride), uy(-20.f, H * stride), us(4.f, 0.7f * W * stride);
  std::vector<float> v(size_t(R) * 5);
  for (int r = 0; r < R; ++r) {
    float x = ux(gen), y = uy(gen);
    v[5 * r] = float(r % N);
    v[5 * r + 1] = x;
    v[5 * r + 2] = y;
    v[5 * r + 3] = x + us(gen);
    v[5 * r + 4] = y + us(gen);
  }
  return Tensor::from_vector<float>({R, 5}, v);
}

TEST_CASE("roi_pool: hand-made forward follows the bin rules", "[roi_pool]") {
  Context ctx;
  // 1x1x4x4 map with values 0..15; RoI covering cells [0,3] x [0,3] at scale 1, pooled 2x2
  std::vector<float> f(16);
  std::iota(f.begin(), f.end(), 0.f);
  Tensor feat = Tensor::from_vector<float>({1, 1, 4, 4}, f);
  Tensor rois = Tensor::from_vector<float>({2, 5}, {0, 0, 0, 3, 3, 0, 1.4f, 1.6f, 1.4f, 1.6f});
  RoiPoolResult r = roi_pool_forward(ctx, feat, rois, 2, 2, 1.f);
  // roi 0: size 4x4 -> bins rows [0,2) [2,4): maxima at 5, 7, 13, 15
  auto out = vec<float>(r.output);
  auto arg = vec<int32_t>(r.argmax);
  REQUIRE(std::vector<float>(out.begin(), out.begin() + 4) == std::vector<float>{5, 7, 13, 15});
  REQUIRE(std::vector<int32_t>(arg.begin(), arg.begin() + 4) == std::vector<int32_t>{5, 7, 13, 15});
  // roi 1: rounds to the single cell (1, 2) (x 1.4 -> 1, y 1.6 -> 2); size 1 -> every bin is that cell
  for (int i = 4; i < 8; ++i) {
    REQUIRE(arg[i] == 2 * 4 + 1);
    REQUIRE(out[i] == 9.f);
  }
}

TEST_CASE("roi_pool: empty bins, bad batch index and empty inputs", "[roi_pool]") {
  Context ctx;
  Tensor feat = distinct_features(1, 2, 4, 4, 1);
  // roi entirely outside the map -> all bins clamp to empty; batch index 3 is out of range
  Tensor rois = Tensor::from_vector<float>({2, 5}, {0, 100, 100, 200, 200, 3, 0, 0, 3, 3});
  RoiPoolResult r = roi_pool_forward(ctx, feat, rois, 2, 2, 1.f);
  for (float v : vec<float>(r.output)) REQUIRE(v == 0.f);
  for (int32_t a : vec<int32_t>(r.argmax)) REQUIRE(a == -1);
  Tensor g = roi_pool_backward(ctx, Tensor::full({2, 2, 2, 2}, 1.0), r.argmax, rois, 1, 2, 4, 4, 1.f);
  for (float v : vec<float>(g)) REQUIRE(v == 0.f);
  // zero RoIs
  RoiPoolResult e = roi_pool_forward(ctx, feat, Tensor::empty({0, 5}), 7, 7, 1.f / 16);
  REQUIRE(e.output.shape() == Shape{0, 2, 7, 7});
  Tensor ge = roi_pool_backward(ctx, e.output, e.argmax, Tensor::empty({0, 5}), 1, 2, 4, 4, 1.f / 16);
  REQUIRE(ge.shape() == Shape{1, 2, 4, 4});
  for (float v : vec<float>(ge)) REQUIRE(v == 0.f);
  REQUIRE_THROWS_WITH(roi_pool_forward(ctx, feat, Tensor::empty({3, 4}), 7, 7, 1.f), Catch::Contains("rois"));
  REQUIRE_THROWS_WITH(roi_pool_backward(ctx, e.output, e.argmax, Tensor::empty({1, 5}), 1, 2, 4, 4, 1.f),
                      Catch::Contains("grad_out"));
  // a 0 x 0 pooled grid: refused like in the forward pass
  REQUIRE_THROWS_WITH(roi_pool_backward(ctx, Tensor::empty({2, 2, 0, 0}), Tensor::empty({2, 2, 0, 0}, DType::I32),
                                        rois, 1, 2, 4, 4, 1.f),
                      Catch::Contains("pooled size must be positive"));
}

// Central differences of L = sum(output * G) with respect to every feature element.
static void gradient_check(Context& ctx, int N, int C, int H, int W, int R, uint32_t seed) {
  const int P = 3;
  const float scale = 1.f / 4;
  Tensor feat = distinct_features(N, C, H, W, seed);
  Tensor rois = random_rois(R, N, H, W, 4.f, seed + 1);
  Tensor G = random_tensor({R, C, P, P}, seed + 2);
  const Device dev = ctx.device();
  auto loss = [&](const Tensor& f) {
    RoiPoolResult r = roi_pool_forward(ctx, f.to(dev, ctx.stream()), rois.to(dev, ctx.stream()), P, P, scale);
    auto o = vec<float>(r.output);
    auto g = vec<float>(G);
    double s = 0;
    for (size_t i = 0; i < o.size(); ++i) s += double(o[i]) * g[i];
    return s;
  };
  RoiPoolResult r = roi_pool_forward(ctx, feat.to(dev, ctx.stream()), rois.to(dev, ctx.stream()), P, P, scale);
  auto analytic = vec<float>(roi_pool_backward(ctx, G.to(dev, ctx.stream()), r.argmax, rois.to(dev, ctx.stream()), N,
                                               C, H, W, scale));
  const float eps = 1e-3f;  // well below the 0.01 spacing: no switch changes
  int nonzero = 0;
  for (int64_t i = 0; i < feat.numel(); ++i) {
    Tensor fp = feat.clone(), fm = feat.clone();
    fp.data<float>()[i] += eps;
    fm.data<float>()[i] -= eps;
    const double denom = double(fp.data<float>()[i]) - double(fm.data<float>()[i]);
    const double numeric = (loss(fp) - loss(fm)) / denom;
    INFO("element " << i);
    REQUIRE(std::fabs(numeric - analytic[i]) <= 1e-4 + 1e-4 * std::fabs(numeric));
    nonzero += analytic[i] != 0.f;
  }
  REQUIRE(nonzero > 20);  // the check exercised real switches
}

TEST_CASE("roi_pool: backward matches central differences on the CPU", "[roi_pool]") {
  Context ctx;
  gradient_check(ctx, 2, 2, 9, 11, 6, 31);
}

TEST_CASE("roi_pool: backward matches central differences on CUDA", "[roi_pool][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context ctx(Device::cuda(0));
  gradient_check(ctx, 2, 2, 9, 11, 6, 41);
}

TEST_CASE("roi_pool: CPU and CUDA agree bit for bit and CUDA backward is deterministic", "[roi_pool][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context cpu, gpu(Device::cuda(0));
  const int N = 2, C = 24, H = 38, W = 50, R = 300;
  Tensor feat = distinct_features(N, C, H, W, 51);
  Tensor rois = random_rois(R, N, H, W, 16.f, 52);
  Tensor G = random_tensor({R, C, 7, 7}, 53);
  RoiPoolResult rc = roi_pool_forward(cpu, feat, rois, 7, 7, 1.f / 16);
  Tensor gf = feat.to(gpu.device(), gpu.stream()), gr = rois.to(gpu.device(), gpu.stream());
  RoiPoolResult rg = roi_pool_forward(gpu, gf, gr, 7, 7, 1.f / 16);
  REQUIRE(vec<int32_t>(rg.argmax) == vec<int32_t>(rc.argmax));
  REQUIRE(vec<float>(rg.output) == vec<float>(rc.output));
  Tensor gc = roi_pool_backward(cpu, G, rc.argmax, rois, N, C, H, W, 1.f / 16);
  Tensor gG = G.to(gpu.device(), gpu.stream());
  auto g1 = vec<float>(roi_pool_backward(gpu, gG, rg.argmax, gr, N, C, H, W, 1.f / 16));
  auto g2 = vec<float>(roi_pool_backward(gpu, gG, rg.argmax, gr, N, C, H, W, 1.f / 16));
  REQUIRE(std::memcmp(g1.data(), g2.data(), g1.size() * sizeof(float)) == 0);
  REQUIRE(g1 == vec<float>(gc));
}

TEST_CASE("roi_pool: CUDA backward refuses a 0 x 0 pooled grid", "[roi_pool][gpu]") {
  FRCNN_REQUIRE_GPU();
  // 32 RoIs fill one staging chunk of the kernel's shared memory: with no bins it read past it.
  Context gpu(Device::cuda(0));
  std::vector<float> rv(5 * 32);
  for (int r = 0; r < 32; ++r) rv[5 * r + 3] = rv[5 * r + 4] = 3.f;
  Tensor rois = Tensor::from_vector<float>({32, 5}, rv).to(gpu.device());
  Tensor g = Tensor::empty({32, 1, 0, 0}, DType::F32, gpu.device()), a = Tensor::empty({32, 1, 0, 0}, DType::I32, gpu.device());
  REQUIRE_THROWS_WITH(roi_pool_backward(gpu, g, a, rois, 1, 1, 4, 4, 1.f), Catch::Contains("pooled size must be positive"));
}
