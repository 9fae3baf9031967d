#include <cmath>

#include "kernels/box_ops.h"
#include "tests/gpu.h"
#include "tests/kernels/kernel_test_util.h"

using namespace frcnn;
using namespace frcnn::test;

TEST_CASE("box_ops: IoU of hand-made boxes", "[box_ops]") {
  Context ctx;
  Tensor a = Tensor::from_vector<float>({3, 4}, {0, 0, 10, 10, 0, 0, 0, 0, 5, 5, 5, 9});
  Tensor b = Tensor::from_vector<float>({3, 4}, {5, 0, 15, 10, 0, 0, 10, 10, 20, 20, 30, 30});
  auto iou = vec<float>(box_iou(ctx, a, b));
  REQUIRE(iou[0] == Approx(50.0 / 150.0));
  REQUIRE(iou[1] == 1.0f);
  REQUIRE(iou[2] == 0.0f);
  // zero-area boxes: IoU 0 with everything, itself included
  for (int j = 0; j < 3; ++j) REQUIRE(iou[3 + j] == 0.0f);
  for (int j = 0; j < 3; ++j) REQUIRE(iou[6 + j] == 0.0f);
  auto self = vec<float>(box_iou(ctx, a.slice(1, 2), a.slice(1, 2)));
  REQUIRE(self[0] == 0.0f);
}

TEST_CASE("box_ops: empty inputs give empty outputs", "[box_ops]") {
  Context ctx;
  Tensor e = Tensor::empty({0, 4});
  Tensor b = random_boxes(5, 1);
  REQUIRE(box_iou(ctx, e, b).shape() == Shape{0, 5});
  REQUIRE(box_iou(ctx, b, e).shape() == Shape{5, 0});
  REQUIRE(encode_boxes(ctx, e, e).shape() == Shape{0, 4});
  REQUIRE(decode_boxes(ctx, e, Tensor::empty({0, 8})).shape() == Shape{0, 8});
  REQUIRE(clip_boxes(ctx, e, 10, 10).shape() == Shape{0, 4});
  REQUIRE(min_size_keep(ctx, e, 16).shape() == Shape{0});
}

TEST_CASE("box_ops: bad arguments throw with the op name", "[box_ops]") {
  Context ctx;
  Tensor b = random_boxes(5, 1);
  REQUIRE_THROWS_WITH(box_iou(ctx, Tensor::empty({5, 3}), b), Catch::Contains("box_iou"));
  REQUIRE_THROWS_WITH(encode_boxes(ctx, b, random_boxes(4, 2)), Catch::Contains("encode_boxes"));
  REQUIRE_THROWS_WITH(decode_boxes(ctx, b, Tensor::empty({5, 6})), Catch::Contains("decode_boxes"));
  REQUIRE_THROWS_WITH(box_iou(ctx, Tensor::empty({5, 4}, DType::I32), b), Catch::Contains("F32"));
}

TEST_CASE("box_ops: encode then decode returns the boxes", "[box_ops]") {
  Context ctx;
  Tensor refs = random_boxes(1000, 11), gts = random_boxes(1000, 12);
  BoxCoder c;
  c.means[0] = 0.01f;
  c.stds[0] = 0.1f, c.stds[1] = 0.1f, c.stds[2] = 0.2f, c.stds[3] = 0.2f;
  Tensor d = encode_boxes(ctx, refs, gts, c);
  Tensor back = decode_boxes(ctx, refs, d, c);
  require_close(back, gts, 1e-3, 1e-5, "round trip");
  // identity: a box encodes to zero raw deltas against itself
  Tensor z = encode_boxes(ctx, refs, refs);
  for (float v : vec<float>(z)) REQUIRE(std::fabs(v) < 1e-6f);
}

TEST_CASE("box_ops: decode clamps dw dh at log(1000 over 16)", "[box_ops]") {
  Context ctx;
  Tensor ref = Tensor::from_vector<float>({1, 4}, {0, 0, 16, 16});
  Tensor d = Tensor::from_vector<float>({1, 8}, {0, 0, 50, 50, 0.5f, 0, 0, 0});  // two classes
  auto o = vec<float>(decode_boxes(ctx, ref, d));
  REQUIRE(std::isfinite(o[0]));
  REQUIRE(o[2] - o[0] == Approx(1000.0).epsilon(1e-5));
  REQUIRE(o[3] - o[1] == Approx(1000.0).epsilon(1e-5));
  REQUIRE(o[4] == Approx(8.0));  // dx = 0.5 moves the centre by half a width
  REQUIRE(o[6] == Approx(24.0));
}

TEST_CASE("box_ops: degenerate boxes encode to finite deltas", "[box_ops]") {
  Context ctx;
  Tensor r = Tensor::from_vector<float>({2, 4}, {5, 5, 5, 5, 0, 0, 10, 10});
  Tensor g = Tensor::from_vector<float>({2, 4}, {0, 0, 10, 10, 3, 3, 3, 3});
  for (float v : vec<float>(encode_boxes(ctx, r, g))) REQUIRE(std::isfinite(v));
}

TEST_CASE("box_ops: clip and min-size filter", "[box_ops]") {
  Context ctx;
  Tensor b = Tensor::from_vector<float>({3, 4}, {-5, -5, 20, 700, 10, 10, 25, 30, 100, 100, 150, 110});
  auto c = vec<float>(clip_boxes(ctx, b, 600, 800));
  REQUIRE(c == std::vector<float>{0, 0, 20, 600, 10, 10, 25, 30, 100, 100, 150, 110});
  auto keep = vec<int32_t>(min_size_keep(ctx, b, 15));
  REQUIRE(keep == std::vector<int32_t>{0, 1});  // box 2 is 10 high; box 1 exactly 15 wide passes
}

TEST_CASE("box_ops: CPU and CUDA agree on random boxes", "[box_ops][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context cpu, gpu(Device::cuda(0));
  Tensor a = random_boxes(700, 21), b = random_boxes(300, 22);
  // a few degenerate boxes too
  a.data<float>()[2] = a.data<float>()[0];
  b.data<float>()[7] = b.data<float>()[5] - 3;
  Tensor ga = a.to(gpu.device(), gpu.stream()), gb = b.to(gpu.device(), gpu.stream());
  auto iou_c = vec<float>(box_iou(cpu, a, b)), iou_g = vec<float>(box_iou(gpu, ga, gb));
  REQUIRE(iou_c == iou_g);  // bit-identical by construction (box_math.h)
  Tensor refs = a.slice(0, 300), gts = b;
  BoxCoder c;
  c.stds[0] = c.stds[1] = 0.1f, c.stds[2] = c.stds[3] = 0.2f;
  require_close(host(encode_boxes(gpu, ga.slice(0, 300), gb, c)), encode_boxes(cpu, refs, gts, c),
                1e-5, 1e-5, "encode");
  Tensor d = random_tensor({300, 12}, 23, -3.f, 3.f);
  Tensor gd = d.to(gpu.device(), gpu.stream());
  require_close(host(decode_boxes(gpu, ga.slice(0, 300), gd, c)), decode_boxes(cpu, refs, d, c), 1e-3,
                1e-5, "decode");
  require_close(host(clip_boxes(gpu, ga, 500, 700)), clip_boxes(cpu, a, 500, 700), 0, 0, "clip");
  REQUIRE(vec<int32_t>(min_size_keep(gpu, ga, 100)) == vec<int32_t>(min_size_keep(cpu, a, 100)));
  // mixed devices are refused
  REQUIRE_THROWS_WITH(box_iou(cpu, a, gb), Catch::Contains("different devices"));
}
