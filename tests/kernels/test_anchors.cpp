#include "kernels/anchors.h"
#include "tests/gpu.h"
#include "tests/kernels/kernel_test_util.h"

using namespace frcnn;
using namespace frcnn::test;

// py-faster-rcnn generate_anchors() (base 16, ratios 0.5 1 2, scales 8 16 32), inclusive
// pixel boxes, as printed by its __main__; ours add 1 to x2 and y2 (anchors.h).
static const float kPyFasterRcnn[9][4] = {
    {-84, -40, 99, 55},     {-176, -88, 191, 103},   {-360, -184, 375, 199},
    {-56, -56, 71, 71},     {-120, -120, 135, 135},  {-248, -248, 263, 263},
    {-36, -80, 51, 95},     {-80, -168, 95, 183},    {-168, -344, 183, 359}};

TEST_CASE("anchors: the 9 base anchors equal py-faster-rcnn's table without +1", "[anchors]") {
  Tensor b = base_anchors(16, {128, 256, 512}, {0.5f, 1.f, 2.f});
  REQUIRE(b.shape() == Shape{9, 4});
  auto v = vec<float>(b);
  for (int a = 0; a < 9; ++a) {
    INFO("anchor " << a);
    REQUIRE(v[4 * a + 0] == kPyFasterRcnn[a][0]);
    REQUIRE(v[4 * a + 1] == kPyFasterRcnn[a][1]);
    REQUIRE(v[4 * a + 2] == kPyFasterRcnn[a][2] + 1);
    REQUIRE(v[4 * a + 3] == kPyFasterRcnn[a][3] + 1);
    // centred on the centre of cell (0, 0)
    REQUIRE(v[4 * a] + v[4 * a + 2] == 16.f);
    REQUIRE(v[4 * a + 1] + v[4 * a + 3] == 16.f);
  }
}

TEST_CASE("anchors: layout is (H W A) with stride shifts", "[anchors]") {
  const int H = 38, W = 50, A = 9;
  Tensor all = make_anchors(H, W, 16, {128, 256, 512}, {0.5f, 1.f, 2.f}, Device::cpu());
  REQUIRE(all.shape() == Shape{H * W * A, 4});
  auto v = vec<float>(all);
  auto base = vec<float>(base_anchors(16, {128, 256, 512}, {0.5f, 1.f, 2.f}));
  for (int h : {0, 7, 37})
    for (int w : {0, 13, 49})
      for (int a = 0; a < A; ++a) {
        int k = (h * W + w) * A + a;
        REQUIRE(v[4 * k + 0] == base[4 * a + 0] + 16 * w);
        REQUIRE(v[4 * k + 1] == base[4 * a + 1] + 16 * h);
        REQUIRE(v[4 * k + 2] == base[4 * a + 2] + 16 * w);
        REQUIRE(v[4 * k + 3] == base[4 * a + 3] + 16 * h);
      }
  REQUIRE(make_anchors(0, 5, 16, {128}, {1.f}, Device::cpu()).shape() == Shape{0, 4});
  REQUIRE_THROWS_WITH(base_anchors(16, {}, {1.f}), Catch::Contains("base_anchors"));
  REQUIRE_THROWS_WITH(make_anchors(-1, 5, 16, {128}, {1.f}, Device::cpu()), Catch::Contains("make_anchors"));
}

TEST_CASE("anchors: CPU and CUDA agree", "[anchors][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context gpu(Device::cuda(0));
  Tensor c = make_anchors(38, 50, 16, {128, 256, 512}, {0.5f, 1.f, 2.f}, Device::cpu());
  Tensor g = make_anchors(38, 50, 16, {128, 256, 512}, {0.5f, 1.f, 2.f}, gpu.device(), gpu.stream());
  REQUIRE(vec<float>(g) == vec<float>(c));
}
