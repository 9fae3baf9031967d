// conv2d: CPU reference vs a direct loop nest, and CPU vs our CUDA kernels vs cuDNN on
// random shapes, odd sizes included ([gpu]).
#include <catch2/catch.hpp>

#include <random>

#include "kernels/conv2d.h"
#include "tests/gpu.h"
#include "tests/test_util.h"

using namespace frcnn;
using namespace frcnn::test;

namespace {

// Direct convolution: y (N, Cout, Ho, Wo), in double.
std::vector<float> direct_conv(const Conv2dGeom& g, const std::vector<float>& x, const std::vector<float>& w,
                               const std::vector<float>& b) {
  std::vector<float> y(size_t(g.N * g.Cout * g.Ho * g.Wo));
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t co = 0; co < g.Cout; ++co)
      for (int64_t oh = 0; oh < g.Ho; ++oh)
        for (int64_t ow = 0; ow < g.Wo; ++ow) {
          double s = b[size_t(co)];
          for (int64_t ci = 0; ci < g.Cin; ++ci)
            for (int64_t r = 0; r < g.KH; ++r)
              for (int64_t q = 0; q < g.KW; ++q) {
                int64_t ih = oh * g.stride - g.pad + r, iw = ow * g.stride - g.pad + q;
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                s += double(x[size_t(((n * g.Cin + ci) * g.H + ih) * g.W + iw)]) *
                     w[size_t(((co * g.Cin + ci) * g.KH + r) * g.KW + q)];
              }
          y[size_t(((n * g.Cout + co) * g.Ho + oh) * g.Wo + ow)] = float(s);
        }
  return y;
}

}  // namespace

TEST_CASE("conv2d: CPU im2col GEMM matches a direct loop nest", "[kernels][conv2d]") {
  Context ctx;
  Tensor x = random_tensor({2, 3, 9, 7}, 1), w = random_tensor({5, 3, 3, 3}, 2), b = random_tensor({5}, 3);
  for (int64_t stride : {1, 2}) {
    Tensor y = conv2d_forward(ctx, x, w, b, 1, stride);
    Conv2dGeom g = conv2d_geom(x.shape(), w.shape(), 1, stride);
    require_close(y.to_vector<float>(), direct_conv(g, x.to_vector<float>(), w.to_vector<float>(), b.to_vector<float>()),
                  1e-5, 1e-5, "conv");
  }
}

TEST_CASE("conv2d: shape errors", "[kernels][conv2d]") {
  Context ctx;
  Tensor x = random_tensor({1, 3, 4, 4}, 1);
  REQUIRE_THROWS_WITH(conv2d_forward(ctx, x, random_tensor({2, 4, 3, 3}, 2), Tensor(), 1, 1),
                      Catch::Contains("input channels"));
  REQUIRE_THROWS_WITH(conv2d_forward(ctx, random_tensor({1, 3, 1, 1}, 1), random_tensor({2, 3, 3, 3}, 2), Tensor(), 0, 1),
                      Catch::Contains("smaller than the kernel"));
}
