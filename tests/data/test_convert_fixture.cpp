// The committed output of scripts/convert_vgg16.py (tests/fixtures/convert/, made by
// scripts/fixtures/gen_vgg_convert.py from a small torchvision VGG16): names, shapes,
// metadata and input convention, and -- with plain loops here, independent of the
// engine's layers -- that the torch layout reproduces torch's conv5_3 and fc7.
#include <catch2/catch.hpp>
#include <algorithm>

#include "data/input_convention.h"
#include "engine/safetensors.h"
#include "tests/test_util.h"

using namespace frcnn;

namespace {

const char* kConv[13] = {"conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3",
                         "conv4_1", "conv4_2", "conv4_3", "conv5_1", "conv5_2", "conv5_3"};

// x: (C, H, W) -> relu(conv3x3 pad 1): (O, H, W); w: (O, C, 3, 3).
std::vector<float> conv_relu(const std::vector<float>& x, int C, int H, int W, const Tensor& wt, const Tensor& bt) {
  const int O = static_cast<int>(wt.size(0));
  const float* w = wt.data<float>();
  const float* b = bt.data<float>();
  std::vector<float> y(static_cast<size_t>(O) * H * W);
  for (int o = 0; o < O; ++o)
    for (int i = 0; i < H; ++i)
      for (int j = 0; j < W; ++j) {
        double s = b[o];
        for (int c = 0; c < C; ++c)
          for (int ki = 0; ki < 3; ++ki)
            for (int kj = 0; kj < 3; ++kj) {
              const int ii = i + ki - 1, jj = j + kj - 1;
              if (ii < 0 || ii >= H || jj < 0 || jj >= W) continue;
              s += double(w[((o * C + c) * 3 + ki) * 3 + kj]) * x[(size_t(c) * H + ii) * W + jj];
            }
        y[(size_t(o) * H + i) * W + j] = s > 0 ? float(s) : 0.f;
      }
  return y;
}

// (C, H, W) -> 2x2 stride-2 max pool (floor): (C, H/2, W/2).
std::vector<float> maxpool(const std::vector<float>& x, int C, int H, int W) {
  std::vector<float> y(size_t(C) * (H / 2) * (W / 2));
  for (int c = 0; c < C; ++c)
    for (int i = 0; i < H / 2; ++i)
      for (int j = 0; j < W / 2; ++j) {
        float m = -1e30f;
        for (int a = 0; a < 2; ++a)
          for (int b = 0; b < 2; ++b) m = std::max(m, x[(size_t(c) * H + 2 * i + a) * W + 2 * j + b]);
        y[(size_t(c) * (H / 2) + i) * (W / 2) + j] = m;
      }
  return y;
}

// relu(W x + b); w: (O, I).
std::vector<float> linear_relu(const std::vector<float>& x, const Tensor& wt, const Tensor& bt) {
  const int64_t O = wt.size(0), I = wt.size(1);
  std::vector<float> y(O);
  for (int64_t o = 0; o < O; ++o) {
    double s = bt.data<float>()[o];
    for (int64_t i = 0; i < I; ++i) s += double(wt.data<float>()[o * I + i]) * x[i];
    y[o] = s > 0 ? float(s) : 0.f;
  }
  return y;
}

}  // namespace

TEST_CASE("convert fixture: names shapes and input convention metadata", "[convert]") {
  TensorFile f = load_safetensors(std::string(FRCNN_FIXTURES_DIR) + "/convert/vgg16_small.safetensors");
  const int widths[13] = {8, 8, 16, 16, 32, 32, 32, 32, 32, 32, 32, 32, 32};
  int64_t cin = 3;
  for (int i = 0; i < 13; ++i) {
    f.get(std::string(kConv[i]) + ".weight", {widths[i], cin, 3, 3});
    f.get(std::string(kConv[i]) + ".bias", {widths[i]});
    cin = widths[i];
  }
  f.get("fc6.weight", {64, 32 * 7 * 7});
  f.get("fc6.bias", {64});
  f.get("fc7.weight", {64, 64});
  f.get("fc7.bias", {64});
  REQUIRE(f.tensors.size() == 30);  // 13 convs + fc6 + fc7, weight and bias each; no fc8
  REQUIRE(f.meta("frcnn.source") == "torchvision");
  auto conv = input_convention_from_metadata(f.metadata, f.path);
  REQUIRE(conv.has_value());
  REQUIRE(*conv == InputConvention::torchvision());
}

TEST_CASE("convert fixture: torch layout reproduces torch's conv5_3 and fc7", "[convert]") {
  TensorFile w = load_safetensors(std::string(FRCNN_FIXTURES_DIR) + "/convert/vgg16_small.safetensors");
  TensorFile io = load_safetensors(std::string(FRCNN_FIXTURES_DIR) + "/convert/vgg16_small_io.safetensors");
  std::vector<float> x = io.get("input", {1, 3, 64, 80}).to_vector<float>();
  int C = 3, H = 64, W = 80;
  const int blocks[5] = {2, 2, 3, 3, 3};
  int layer = 0;
  for (int b = 0; b < 5; ++b) {
    if (b > 0) {
      x = maxpool(x, C, H, W);
      H /= 2;
      W /= 2;
    }
    for (int k = 0; k < blocks[b]; ++k, ++layer) {
      const Tensor& wt = w.get(std::string(kConv[layer]) + ".weight");
      x = conv_relu(x, C, H, W, wt, w.get(std::string(kConv[layer]) + ".bias"));
      C = static_cast<int>(wt.size(0));
    }
  }
  const Tensor& ref5 = io.get("conv5_3", {1, 32, 4, 5});
  test::require_close(x, ref5.to_vector<float>(), 1e-4, 1e-4, "conv5_3");

  std::vector<float> h = linear_relu(io.get("fc_input", {1, 32, 7, 7}).to_vector<float>(), w.get("fc6.weight"),
                                     w.get("fc6.bias"));
  h = linear_relu(h, w.get("fc7.weight"), w.get("fc7.bias"));
  test::require_close(h, io.get("fc7", {1, 64}).to_vector<float>(), 1e-5, 1e-4, "fc7");
}
