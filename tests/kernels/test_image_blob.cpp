// pad_image_into (kernels/image_blob.h): the image in its slot's top-left corner, zeros
// elsewhere in the slot, other slots untouched; CUDA bit-identical to the CPU loops.
#include <catch2/catch.hpp>

#include "kernels/image_blob.h"
#include "tests/gpu.h"
#include "tests/test_util.h"

using namespace frcnn;

TEST_CASE("image_blob: pad_image_into writes the image top-left and zeros the rest of its slot", "[image_blob]") {
  Context ctx;
  const int C = 3, h = 4, w = 5, H = 6, W = 7;
  Tensor img = test::random_tensor({1, C, h, w}, 1);
  Tensor blob = Tensor::full({2, C, H, W}, 9.f);
  pad_image_into(ctx, img, blob, 1);
  const float* b = blob.data<float>();
  const float* x = img.data<float>();
  for (int c = 0; c < C; ++c)
    for (int y = 0; y < H; ++y)
      for (int xx = 0; xx < W; ++xx) {
        REQUIRE(b[((0 * C + c) * H + y) * W + xx] == 9.f);  // slot 0 untouched
        const float want = (y < h && xx < w) ? x[(c * h + y) * w + xx] : 0.f;
        REQUIRE(b[((1 * C + c) * H + y) * W + xx] == want);
      }
  REQUIRE_THROWS_WITH(pad_image_into(ctx, test::random_tensor({1, C, H + 1, w}, 2), blob, 0),
                      Catch::Contains("does not fit"));
  REQUIRE_THROWS_WITH(pad_image_into(ctx, img, blob, 2), Catch::Contains("slot 2"));
  REQUIRE_THROWS_WITH(pad_image_into(ctx, test::random_tensor({1, 1, h, w}, 3), blob, 0),
                      Catch::Contains("does not fit"));
}

TEST_CASE("image_blob: CPU and CUDA agree bit for bit", "[image_blob][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context cpu, gpu(Device::cuda());
  for (auto [h, w] : {std::pair<int, int>{13, 17}, {20, 31}, {20, 9}}) {
    INFO(h << "x" << w);
    Tensor img = test::random_tensor({1, 3, h, w}, uint32_t(h * w));
    Tensor blob_c = Tensor::full({3, 3, 20, 31}, 5.f);
    Tensor blob_g = blob_c.to(gpu.device(), gpu.stream());
    pad_image_into(cpu, img, blob_c, 2);
    pad_image_into(gpu, img.to(gpu.device(), gpu.stream()), blob_g, 2);
    REQUIRE(blob_g.to(Device::cpu(), gpu.stream()).to_vector<float>() == blob_c.to_vector<float>());
  }
}
