#include "data/transforms.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "engine/log.h"

namespace frcnn {

namespace {

// Source sampling positions for one axis: out index -> (i0, i1, weight of i1).
struct Taps {
  std::vector<int> i0, i1;
  std::vector<float> w;
};

Taps make_taps(int in, int out) {
  Taps t;
  t.i0.resize(out);
  t.i1.resize(out);
  t.w.resize(out);
  const double ratio = double(in) / double(out);
  for (int o = 0; o < out; ++o) {
    double s = (o + 0.5) * ratio - 0.5;
    s = std::clamp(s, 0.0, double(in - 1));
    int i0 = static_cast<int>(std::floor(s));
    t.i0[o] = i0;
    t.i1[o] = std::min(i0 + 1, in - 1);
    t.w[o] = static_cast<float>(s - i0);
  }
  return t;
}

// Channel ch of output pixel (x, y), bilinear between the four input pixels the taps name.
inline float bilinear(const Image& img, const Taps& tx, const Taps& ty, int x, int y, int ch) {
  const float wx = tx.w[x], wy = ty.w[y];
  const float a = img.px(tx.i0[x], ty.i0[y])[ch], b = img.px(tx.i1[x], ty.i0[y])[ch];
  const float c = img.px(tx.i0[x], ty.i1[y])[ch], d = img.px(tx.i1[x], ty.i1[y])[ch];
  const float top = a + (b - a) * wx, bot = c + (d - c) * wx;
  return top + (bot - top) * wy;
}

void check_resize_args(const Image& img, int w, int h, const char* what) {
  if (img.empty()) throw std::invalid_argument(std::string(what) + ": empty image");
  if (w <= 0 || h <= 0) throw std::invalid_argument(str_cat(what, ": invalid output size ", w, "x", h));
}

}  // namespace

ResizeTarget detection_resize(int width, int height, int target_size, int max_size) {
  if (width <= 0 || height <= 0 || target_size <= 0 || max_size <= 0)
    throw std::invalid_argument(str_cat("detection_resize: invalid image size ", width, "x", height, " or scale ",
                                        target_size, "/", max_size));
  const int smin = std::min(width, height), smax = std::max(width, height);
  // double, as py-faster-rcnn's numpy float64 arithmetic.
  double scale = double(target_size) / smin;
  if (std::round(scale * smax) > max_size) scale = double(max_size) / smax;
  ResizeTarget r;
  r.scale = static_cast<float>(scale);
  r.width = std::max(1, static_cast<int>(std::lround(width * scale)));
  r.height = std::max(1, static_cast<int>(std::lround(height * scale)));
  return r;
}

Image flip_horizontal(const Image& img) {
  Image out(img.width, img.height);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const uint8_t* s = img.px(img.width - 1 - x, y);
      uint8_t* d = out.px(x, y);
      d[0] = s[0];
      d[1] = s[1];
      d[2] = s[2];
    }
  return out;
}

void flip_boxes_horizontal(float* boxes, int64_t count, float width) {
  for (int64_t i = 0; i < count; ++i) {
    float* b = boxes + 4 * i;
    const float x1 = b[0], x2 = b[2];
    b[0] = width - x2;
    b[2] = width - x1;
  }
}

Image resize_bilinear(const Image& img, int out_width, int out_height) {
  check_resize_args(img, out_width, out_height, "resize_bilinear");
  const Taps tx = make_taps(img.width, out_width), ty = make_taps(img.height, out_height);
  Image out(out_width, out_height);
  for (int y = 0; y < out_height; ++y) {
    for (int x = 0; x < out_width; ++x) {
      uint8_t* o = out.px(x, y);
      for (int k = 0; k < 3; ++k)
        o[k] = static_cast<uint8_t>(std::clamp(std::lround(bilinear(img, tx, ty, x, y, k)), 0L, 255L));
    }
  }
  return out;
}

// Separable: each source row the output needs is interpolated horizontally once, into a
// (3, out_width) float row (planar, so the vertical pass is contiguous and vectorises)
// kept while consecutive output rows use it; an output row is then
// the vertical blend of its two rows, normalised, written to the three planes. The same
// float operations in the same order as bilinear() (top = a + (b - a) wx, bottom alike,
// top + (bottom - top) wy, then v * mul + add), so the same bits, without recomputing the
// horizontal taps for every output pixel and channel.
void resize_normalize_chw(const Image& img, int out_width, int out_height, const InputConvention& conv, float* dst) {
  check_resize_args(img, out_width, out_height, "resize_normalize_chw");
  const Taps tx = make_taps(img.width, out_width), ty = make_taps(img.height, out_height);
  const size_t plane = static_cast<size_t>(out_width) * out_height;
  // Affine normalisation per RGB channel: value = v * mul + add.
  float mul[3], add[3];
  for (int c = 0; c < 3; ++c) {
    mul[c] = conv.scale / 255.f / conv.std[c];
    add[c] = -conv.mean[c] / conv.std[c];
  }
  // Two horizontally interpolated source rows, (3, out_width) each, and which rows they hold.
  std::vector<float> rows[2] = {std::vector<float>(size_t(out_width) * 3), std::vector<float>(size_t(out_width) * 3)};
  int held[2] = {-1, -1};
  // Source row sy, interpolated; never evicts row `keep` (the other row this output row uses).
  auto source_row = [&](int sy, int keep) -> const float* {
    for (int s = 0; s < 2; ++s)
      if (held[s] == sy) return rows[s].data();
    const int s = held[0] == keep ? 1 : 0;
    held[s] = sy;
    const uint8_t* src = img.px(0, sy);
    float* r = rows[s].data();
    for (int x = 0; x < out_width; ++x) {
      const uint8_t *p0 = src + 3 * tx.i0[x], *p1 = src + 3 * tx.i1[x];
      const float wx = tx.w[x];
      for (int ch = 0; ch < 3; ++ch) {
        const float a = p0[ch], b = p1[ch];
        r[size_t(ch) * out_width + x] = a + (b - a) * wx;
      }
    }
    return r;
  };
  for (int y = 0; y < out_height; ++y) {
    const int y0 = ty.i0[y], y1 = ty.i1[y];
    const float* top = source_row(y0, y1);
    const float* bot = source_row(y1, y0);
    const float wy = ty.w[y];
    for (int k = 0; k < 3; ++k) {
      const int ch = conv.rgb_channel(k);
      float* o = dst + k * plane + static_cast<size_t>(y) * out_width;  // dst: (3, H, W)
      const float *t = top + size_t(ch) * out_width, *b = bot + size_t(ch) * out_width;
      const float m = mul[ch], a = add[ch];
      for (int x = 0; x < out_width; ++x) o[x] = (t[x] + (b[x] - t[x]) * wy) * m + a;
    }
  }
}

Tensor prepare_image(const Image& img, int target_size, int max_size, const InputConvention& conv, float* scale) {
  if (img.empty()) throw std::invalid_argument("prepare_image: empty image");
  const ResizeTarget r = detection_resize(img.width, img.height, target_size, max_size);
  Tensor t = Tensor::empty({1, 3, r.height, r.width}, DType::F32);
  resize_normalize_chw(img, r.width, r.height, conv, t.data<float>());
  if (scale) *scale = r.scale;
  return t;
}

}  // namespace frcnn
