#include "kernels/layout.h"
#include "tests/gpu.h"
#include "tests/kernels/kernel_test_util.h"

using namespace frcnn;
using namespace frcnn::test;

TEST_CASE("layout: nchw to nhwc and back", "[layout]") {
  Context ctx;
  Tensor x = random_tensor({2, 3, 4, 5}, 1);
  Tensor y = nchw_to_nhwc(ctx, x);
  REQUIRE(y.shape() == Shape{2, 4, 5, 3});
  auto xv = vec<float>(x), yv = vec<float>(y);
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int h = 0; h < 4; ++h)
        for (int w = 0; w < 5; ++w) REQUIRE(yv[((n * 4 + h) * 5 + w) * 3 + c] == xv[((n * 3 + c) * 4 + h) * 5 + w]);
  REQUIRE(vec<float>(nhwc_to_nchw(ctx, y)) == xv);
  REQUIRE(nchw_to_nhwc(ctx, Tensor::empty({0, 3, 4, 5})).shape() == Shape{0, 4, 5, 3});
  REQUIRE_THROWS_WITH(nchw_to_nhwc(ctx, Tensor::empty({3, 4, 5})), Catch::Contains("nchw_to_nhwc"));
}

TEST_CASE("layout: CPU and CUDA agree", "[layout][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context cpu, gpu(Device::cuda(0));
  Tensor x = random_tensor({1, 18, 38, 50}, 2);
  Tensor gx = x.to(gpu.device(), gpu.stream());
  REQUIRE(vec<float>(nchw_to_nhwc(gpu, gx)) == vec<float>(nchw_to_nhwc(cpu, x)));
  REQUIRE(vec<float>(nhwc_to_nchw(gpu, gx)) == vec<float>(nhwc_to_nchw(cpu, x)));
}
