// Resize rule, bilinear resampling, flips, normalisation and the input convention.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <random>
#include <vector>

#include "data/input_convention.h"
#include "data/transforms.h"
#include "tests/test_util.h"

using namespace frcnn;

TEST_CASE("transforms: the paper's resize rule at 600/1000", "[transforms]") {
  ResizeTarget r = detection_resize(500, 375, 600, 1000);  // VOC's typical 500x375
  REQUIRE(r.scale == Approx(1.6f));
  REQUIRE(r.width == 800);
  REQUIRE(r.height == 600);
  r = detection_resize(375, 500, 600, 1000);  // portrait
  REQUIRE(r.width == 600);
  REQUIRE(r.height == 800);
  // 1000x300: 600/300 = 2 would make the long side 2000 > 1000: capped at 1000/1000.
  r = detection_resize(1000, 300, 600, 1000);
  REQUIRE(r.scale == 1.0f);
  REQUIRE(r.width == 1000);
  REQUIRE(r.height == 300);
  r = detection_resize(300, 1000, 600, 1000);
  REQUIRE(r.width == 300);
  REQUIRE(r.height == 1000);
  // 500x333 -> 600/333 = 1.8018; 500 * 1.8018 = 900.9 -> 901 <= 1000, not capped.
  r = detection_resize(500, 333, 600, 1000);
  REQUIRE(r.scale == Approx(600.0 / 333.0));
  REQUIRE(r.width == 901);
  REQUIRE(r.height == 600);
  // The tiny config's scale: 320x240 at 192/320.
  r = detection_resize(320, 240, 192, 320);
  REQUIRE(r.scale == Approx(0.8f));
  REQUIRE(r.width == 256);
  REQUIRE(r.height == 192);
  REQUIRE_THROWS_AS(detection_resize(0, 10, 600, 1000), std::invalid_argument);
  REQUIRE_THROWS_AS(detection_resize(10, 10, 0, 1000), std::invalid_argument);
}

TEST_CASE("transforms: bilinear resize keeps constants and linear ramps", "[transforms]") {
  Image img(40, 30);
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 40; ++x) {
      img.px(x, y)[0] = uint8_t(50 + 4 * x);  // linear ramp in x
      img.px(x, y)[1] = uint8_t(100);         // constant
      img.px(x, y)[2] = uint8_t(3 * y);       // ramp in y
    }
  // Identity size is exact.
  REQUIRE(resize_bilinear(img, 40, 30).data == img.data);
  // Upscaling by 2: interior samples of a linear ramp stay on the ramp (x_in = (x+0.5)/2-0.5).
  Image up = resize_bilinear(img, 80, 60);
  for (int x = 1; x < 79; ++x) {
    const double xin = (x + 0.5) / 2.0 - 0.5;
    REQUIRE(std::abs(up.px(x, 10)[0] - (50 + 4 * xin)) <= 0.51);
    REQUIRE(up.px(x, 10)[1] == 100);
  }
  // Downscaling by 2 averages pixel pairs: out x samples x_in = 2x + 0.5.
  Image down = resize_bilinear(img, 20, 15);
  for (int x = 0; x < 20; ++x) REQUIRE(std::abs(down.px(x, 5)[0] - (50 + 4 * (2 * x + 0.5))) <= 0.51);
  REQUIRE_THROWS_AS(resize_bilinear(img, 0, 10), std::invalid_argument);
  REQUIRE_THROWS_AS(resize_bilinear(Image(), 10, 10), std::invalid_argument);
}

TEST_CASE("transforms: flip moves a bright box with its box coordinates", "[transforms]") {
  Image img(64, 48, 10, 10, 10);
  // Bright box over pixels x in [5, 15), y in [8, 20): continuous box (5, 8, 15, 20).
  for (int y = 8; y < 20; ++y)
    for (int x = 5; x < 15; ++x) img.px(x, y)[0] = img.px(x, y)[1] = img.px(x, y)[2] = 250;
  std::vector<float> boxes = {5, 8, 15, 20, 0, 0, 64, 48};
  Image f = flip_horizontal(img);
  flip_boxes_horizontal(boxes.data(), 2, 64.f);
  REQUIRE(boxes == std::vector<float>{49, 8, 59, 20, 0, 0, 64, 48});
  for (int y = 0; y < 48; ++y)
    for (int x = 0; x < 64; ++x) {
      const bool in = x >= boxes[0] && x + 1 <= boxes[2] && y >= boxes[1] && y + 1 <= boxes[3];
      REQUIRE(f.px(x, y)[0] == (in ? 250 : 10));
    }
  // Flipping twice is the identity.
  REQUIRE(flip_horizontal(f).data == img.data);
}

TEST_CASE("transforms: normalisation and channel order follow the input convention", "[transforms]") {
  Image img(3, 2);
  for (int i = 0; i < 6; ++i) {
    img.data[i * 3 + 0] = uint8_t(200);  // R
    img.data[i * 3 + 1] = uint8_t(100);  // G
    img.data[i * 3 + 2] = uint8_t(20);   // B
  }
  float scale = 0;
  // Caffe: BGR planes, 0-255 minus the BGR means 102.9801, 115.9465, 122.7717.
  Tensor t = prepare_image(img, 2, 1000, InputConvention::caffe(), &scale);
  REQUIRE(t.shape() == Shape{1, 3, 2, 3});
  REQUIRE(scale == 1.0f);
  auto v = t.to_vector<float>();
  REQUIRE(v[0] == Approx(20 - 102.9801f));   // plane 0 = B
  REQUIRE(v[6] == Approx(100 - 115.9465f));  // plane 1 = G
  REQUIRE(v[12] == Approx(200 - 122.7717f)); // plane 2 = R
  // torchvision: RGB planes, 0-1, ImageNet mean/std.
  t = prepare_image(img, 2, 1000, InputConvention::torchvision(), &scale);
  v = t.to_vector<float>();
  REQUIRE(v[0] == Approx((200 / 255.f - 0.485f) / 0.229f));
  REQUIRE(v[6] == Approx((100 / 255.f - 0.456f) / 0.224f));
  REQUIRE(v[12] == Approx((20 / 255.f - 0.406f) / 0.225f));
  // Upscaled: shorter side 2 -> 4.
  t = prepare_image(img, 4, 1000, InputConvention::caffe(), &scale);
  REQUIRE(t.shape() == Shape{1, 3, 4, 6});
  REQUIRE(scale == 2.0f);
}

TEST_CASE("input convention: metadata round trip and malformed metadata", "[transforms]") {
  for (const auto& c : {InputConvention::caffe(), InputConvention::torchvision()}) {
    auto m = c.to_metadata();
    auto back = input_convention_from_metadata(m, "w.safetensors");
    REQUIRE(back.has_value());
    REQUIRE(*back == c);
  }
  auto m = InputConvention::caffe().to_metadata();
  REQUIRE(m.at("input.channel_order") == "bgr");
  REQUIRE(m.at("input.scale") == "255");
  REQUIRE(m.at("input.mean") == "122.7717,115.9465,102.9801");
  REQUIRE(m.at("input.std") == "1,1,1");
  REQUIRE(InputConvention::torchvision().to_metadata().at("input.mean") == "0.485,0.456,0.406");
  REQUIRE(!input_convention_from_metadata({{"format", "pt"}}, "w").has_value());

  auto bad = [&](const std::string& key, const std::string& value, const std::string& msg) {
    auto mm = m;
    if (value.empty())
      mm.erase(key);
    else
      mm[key] = value;
    REQUIRE_THROWS_WITH(input_convention_from_metadata(mm, "w.safetensors"),
                        Catch::Contains("w.safetensors") && Catch::Contains(msg));
  };
  bad("input.channel_order", "", "input.channel_order");
  bad("input.channel_order", "bgra", "bgra");
  bad("input.scale", "zero", "not a number");
  bad("input.scale", "-1", "positive");
  bad("input.mean", "1,2", "3 values");
  bad("input.mean", "1,2,3,4", "more than 3");
  bad("input.std", "1,0,1", "positive");
}

namespace {

// resize_normalize_chw as it was before it became separable: every output pixel and channel
// interpolated on its own from the four source pixels. The fast path must give its bits.
void resize_normalize_reference(const Image& img, int ow, int oh, const InputConvention& conv, float* dst) {
  auto taps = [](int in, int out, std::vector<int>& i0, std::vector<int>& i1, std::vector<float>& w) {
    const double ratio = double(in) / double(out);
    for (int o = 0; o < out; ++o) {
      double s = std::clamp((o + 0.5) * ratio - 0.5, 0.0, double(in - 1));
      const int a = int(std::floor(s));
      i0.push_back(a);
      i1.push_back(std::min(a + 1, in - 1));
      w.push_back(float(s - a));
    }
  };
  std::vector<int> x0, x1, y0, y1;
  std::vector<float> wx, wy;
  taps(img.width, ow, x0, x1, wx);
  taps(img.height, oh, y0, y1, wy);
  float mul[3], add[3];
  for (int c = 0; c < 3; ++c) {
    mul[c] = conv.scale / 255.f / conv.std[c];
    add[c] = -conv.mean[c] / conv.std[c];
  }
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x)
      for (int k = 0; k < 3; ++k) {
        const int ch = conv.rgb_channel(k);
        const float a = img.px(x0[x], y0[y])[ch], b = img.px(x1[x], y0[y])[ch];
        const float c = img.px(x0[x], y1[y])[ch], d = img.px(x1[x], y1[y])[ch];
        const float top = a + (b - a) * wx[x], bot = c + (d - c) * wx[x];
        dst[(size_t(k) * oh + y) * ow + x] = (top + (bot - top) * wy[y]) * mul[ch] + add[ch];
      }
}

}  // namespace

TEST_CASE("transforms: the separable resize + normalise gives the per-pixel loop's bits", "[transforms]") {
  std::mt19937 rng(5);
  const std::pair<int, int> in_sizes[] = {{500, 375}, {37, 53}, {1, 7}, {64, 1}, {333, 500}};
  const std::pair<int, int> out_sizes[] = {{800, 600}, {19, 11}, {5, 3}, {64, 64}, {600, 901}};
  for (const auto& conv : {InputConvention::caffe(), InputConvention::torchvision()})
    for (size_t s = 0; s < std::size(in_sizes); ++s) {
      const auto [iw, ih] = in_sizes[s];
      const auto [ow, oh] = out_sizes[s];
      INFO(iw << "x" << ih << " -> " << ow << "x" << oh);
      Image img(iw, ih);
      for (auto& v : img.data) v = uint8_t(rng() & 0xff);
      std::vector<float> fast(size_t(3) * ow * oh), ref(fast.size());
      resize_normalize_chw(img, ow, oh, conv, fast.data());
      resize_normalize_reference(img, ow, oh, conv, ref.data());
      REQUIRE(std::memcmp(fast.data(), ref.data(), fast.size() * sizeof(float)) == 0);
    }
}
