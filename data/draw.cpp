#include "data/draw.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <stdexcept>

#include "data/font_mono.h"

namespace frcnn {

namespace {

void check_finite(const char* what, std::initializer_list<float> v) {
  for (float x : v)
    if (!std::isfinite(x)) throw std::invalid_argument(std::string(what) + ": non-finite coordinate");
}

// Clamps a float pixel bound into [lo, hi] as an int without overflowing on huge values.
int clamp_to(double v, int lo, int hi) {
  if (!(v > lo)) return lo;
  if (v > hi) return hi;
  return static_cast<int>(v);
}

uint8_t mix(uint8_t dst, uint8_t src, float a) {
  return static_cast<uint8_t>(std::lround(dst + (float(src) - float(dst)) * a));
}

Color hsv(double h, double s, double v) {
  const double c = v * s, hp = std::fmod(h, 360.0) / 60.0, x = c * (1 - std::fabs(std::fmod(hp, 2.0) - 1));
  double r = 0, g = 0, b = 0;
  if (hp < 1) r = c, g = x;
  else if (hp < 2) r = x, g = c;
  else if (hp < 3) g = c, b = x;
  else if (hp < 4) g = x, b = c;
  else if (hp < 5) r = x, b = c;
  else r = c, b = x;
  const double m = v - c;
  return {uint8_t(std::lround((r + m) * 255)), uint8_t(std::lround((g + m) * 255)), uint8_t(std::lround((b + m) * 255))};
}

}  // namespace

Color class_color(int index) {
  static constexpr uint8_t kTab20[20][3] = {
      {31, 119, 180}, {255, 127, 14}, {44, 160, 44},   {214, 39, 40},   {148, 103, 189},
      {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34},  {23, 190, 207},
      {174, 199, 232}, {255, 187, 120}, {152, 223, 138}, {255, 152, 150}, {197, 176, 213},
      {196, 156, 148}, {247, 182, 210}, {199, 199, 199}, {219, 219, 141}, {158, 218, 229}};
  if (index < 0) throw std::invalid_argument("class_color: negative index " + std::to_string(index));
  if (index < 20) return {kTab20[index][0], kTab20[index][1], kTab20[index][2]};
  // Golden-angle hue steps keep neighbours apart; alternate value for more separation.
  return hsv(std::fmod((index - 20) * 137.50776, 360.0), 0.75, (index % 2) ? 0.95 : 0.75);
}

Color contrast_text_color(Color bg) {
  const double lum = 0.2126 * bg.r + 0.7152 * bg.g + 0.0722 * bg.b;
  return lum > 150 ? Color{0, 0, 0} : Color{255, 255, 255};
}

void blend_pixel(Image& img, int x, int y, Color c, float alpha) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height || !(alpha > 0.f)) return;
  uint8_t* p = img.px(x, y);
  if (alpha >= 1.f) {
    p[0] = c.r, p[1] = c.g, p[2] = c.b;
    return;
  }
  p[0] = mix(p[0], c.r, alpha);
  p[1] = mix(p[1], c.g, alpha);
  p[2] = mix(p[2], c.b, alpha);
}

void fill_rect(Image& img, float x1, float y1, float x2, float y2, Color c, float alpha) {
  check_finite("fill_rect", {x1, y1, x2, y2, alpha});
  const int xa = clamp_to(std::round(x1), 0, img.width), xb = clamp_to(std::round(x2), 0, img.width);
  const int ya = clamp_to(std::round(y1), 0, img.height), yb = clamp_to(std::round(y2), 0, img.height);
  alpha = std::min(1.f, std::max(0.f, alpha));
  for (int y = ya; y < yb; ++y)
    for (int x = xa; x < xb; ++x) blend_pixel(img, x, y, c, alpha);
}

void draw_rect(Image& img, float x1, float y1, float x2, float y2, Color c, int thickness) {
  check_finite("draw_rect", {x1, y1, x2, y2});
  if (thickness < 1) throw std::invalid_argument("draw_rect: thickness must be >= 1");
  if (x2 < x1) std::swap(x1, x2);
  if (y2 < y1) std::swap(y1, y2);
  const double xa = std::round(x1), xb = std::round(x2), ya = std::round(y1), yb = std::round(y2);
  const double t = std::min<double>(thickness, std::max(1.0, std::min((xb - xa) / 2.0, (yb - ya) / 2.0)));
  // Four bands inside [xa, xb) x [ya, yb); fill_rect clips each to the image.
  fill_rect(img, float(xa), float(ya), float(xb), float(std::min(yb, ya + t)), c);      // top
  fill_rect(img, float(xa), float(std::max(ya, yb - t)), float(xb), float(yb), c);      // bottom
  fill_rect(img, float(xa), float(ya), float(std::min(xb, xa + t)), float(yb), c);      // left
  fill_rect(img, float(std::max(xa, xb - t)), float(ya), float(xb), float(yb), c);      // right
}

void draw_line(Image& img, float x0, float y0, float x1, float y1, Color c, float thickness, bool antialias) {
  check_finite("draw_line", {x0, y0, x1, y1, thickness});
  if (!(thickness > 0.f)) throw std::invalid_argument("draw_line: thickness must be > 0");
  const double r = thickness / 2.0;
  const double reach = r + 1.0;
  // Only the pixels near the segment, clipped to the image (bounded work for any input).
  const int xa = clamp_to(std::floor(std::min(x0, x1) - reach), 0, img.width);
  const int xb = clamp_to(std::ceil(std::max(x0, x1) + reach), 0, img.width);
  const int ya = clamp_to(std::floor(std::min(y0, y1) - reach), 0, img.height);
  const int yb = clamp_to(std::ceil(std::max(y0, y1) + reach), 0, img.height);
  const double dx = double(x1) - x0, dy = double(y1) - y0, len2 = dx * dx + dy * dy;
  for (int y = ya; y < yb; ++y)
    for (int x = xa; x < xb; ++x) {
      const double px = x + 0.5 - x0, py = y + 0.5 - y0;
      const double t = len2 > 0 ? std::clamp((px * dx + py * dy) / len2, 0.0, 1.0) : 0.0;
      const double ex = px - t * dx, ey = py - t * dy;
      const double d = std::sqrt(ex * ex + ey * ey);
      const double cov = antialias ? std::clamp(r + 0.5 - d, 0.0, 1.0) : (d <= r ? 1.0 : 0.0);
      if (cov <= 0) continue;
      // Max-blend would need a coverage buffer; blending is fine for single strokes.
      blend_pixel(img, x, y, c, float(cov));
    }
}

void draw_polyline(Image& img, const std::vector<std::array<float, 2>>& points, Color c, float thickness,
                   bool antialias) {
  if (points.size() == 1) {
    draw_line(img, points[0][0], points[0][1], points[0][0], points[0][1], c, thickness, antialias);
    return;
  }
  for (size_t i = 1; i < points.size(); ++i)
    draw_line(img, points[i - 1][0], points[i - 1][1], points[i][0], points[i][1], c, thickness, antialias);
}

void fill_circle(Image& img, float cx, float cy, float r, Color c) {
  check_finite("fill_circle", {cx, cy, r});
  if (r < 0) throw std::invalid_argument("fill_circle: negative radius");
  draw_line(img, cx, cy, cx, cy, c, 2 * r, true);
}

// ---- text -------------------------------------------------------------------------------

int text_width(const std::string& text, int scale) {
  if (scale < 1) throw std::invalid_argument("text_width: scale must be >= 1");
  if (text.empty()) return 0;
  // The last cell is wider than the advance (ink may reach its last column).
  return (static_cast<int>(text.size() - 1) * font_mono::kAdvance + font_mono::kCellW) * scale;
}

int text_height(int scale) {
  if (scale < 1) throw std::invalid_argument("text_height: scale must be >= 1");
  return font_mono::kCellH * scale;
}

namespace {
const uint8_t* glyph(char ch) {
  int code = static_cast<unsigned char>(ch);
  if (code < font_mono::kFirst || code > font_mono::kLast) code = '?';
  return &font_mono::kGlyphs[static_cast<size_t>(code - font_mono::kFirst) * font_mono::kCellW * font_mono::kCellH];
}

// Draws every glyph pixel through `put(cell_x, cell_y, coverage)` in text coordinates
// (x along the text, y down the cell), scaled.
template <class Put>
void for_each_text_pixel(const std::string& text, int scale, Put put) {
  for (size_t i = 0; i < text.size(); ++i) {
    const uint8_t* g = glyph(text[i]);
    const int ox = static_cast<int>(i) * font_mono::kAdvance * scale;
    for (int gy = 0; gy < font_mono::kCellH; ++gy)
      for (int gx = 0; gx < font_mono::kCellW; ++gx) {
        const uint8_t a = g[gy * font_mono::kCellW + gx];
        if (!a) continue;
        for (int sy = 0; sy < scale; ++sy)
          for (int sx = 0; sx < scale; ++sx) put(ox + gx * scale + sx, gy * scale + sy, a / 255.f);
      }
  }
}
}  // namespace

void draw_text(Image& img, int x, int y, const std::string& text, Color fg, int scale, std::optional<Color> background,
               int pad) {
  const int w = text_width(text, scale), h = text_height(scale);
  if (background)
    fill_rect(img, float(x - pad), float(y - pad), float(x + w + pad), float(y + h + pad), *background);
  for_each_text_pixel(text, scale, [&](int tx, int ty, float a) { blend_pixel(img, x + tx, y + ty, fg, a); });
}

void draw_text_vertical(Image& img, int x, int y, const std::string& text, Color fg, int scale) {
  const int w = text_width(text, scale);
  // Rotate CCW: text x runs up from the bottom of the box, text y runs right.
  for_each_text_pixel(text, scale, [&](int tx, int ty, float a) { blend_pixel(img, x + ty, y + w - 1 - tx, fg, a); });
}

// ---- detections -------------------------------------------------------------------------

void draw_detections(Image& img, const std::vector<std::array<float, 4>>& boxes, const std::vector<int>& labels,
                     const std::vector<float>& scores, const std::vector<std::string>& class_names,
                     const DetectionDrawOptions& opts) {
  if (labels.size() != boxes.size() || scores.size() != boxes.size())
    throw std::invalid_argument("draw_detections: " + std::to_string(boxes.size()) + " boxes, " +
                                std::to_string(labels.size()) + " labels, " + std::to_string(scores.size()) +
                                " scores (must be equal)");
  for (size_t i = 0; i < boxes.size(); ++i) {
    if (!std::isfinite(scores[i]))
      throw std::invalid_argument("draw_detections: detection " + std::to_string(i) + " has a non-finite score");
    for (float v : boxes[i])
      if (!std::isfinite(v))
        throw std::invalid_argument("draw_detections: detection " + std::to_string(i) + " has a non-finite coordinate");
    if (labels[i] < 0 || labels[i] >= static_cast<int>(class_names.size()))
      throw std::invalid_argument("draw_detections: detection " + std::to_string(i) + " has label " +
                                  std::to_string(labels[i]) + ", outside [0, " + std::to_string(class_names.size()) +
                                  ")");
  }
  std::vector<size_t> order(boxes.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  const int pad = std::max(1, opts.text_scale);
  // Boxes, lowest score first; then the tags of those inside the image, placed best first.
  std::vector<size_t> tagged;
  for (size_t i : order) {
    if (scores[i] < opts.min_score) continue;
    const auto& b = boxes[i];
    draw_rect(img, b[0], b[1], b[2], b[3], class_color(labels[i]), opts.thickness);
    // A box entirely outside the image gets no tag either.
    const double lo_x = std::min(b[0], b[2]), hi_x = std::max(b[0], b[2]);
    const double lo_y = std::min(b[1], b[3]), hi_y = std::max(b[1], b[3]);
    if (std::round(hi_x) <= 0 || std::round(lo_x) >= img.width || std::round(hi_y) <= 0 ||
        std::round(lo_y) >= img.height)
      continue;
    tagged.push_back(i);
  }
  std::vector<std::string> text(boxes.size());
  std::vector<std::array<float, 4>> tag_boxes;
  std::vector<std::array<int, 2>> sizes;
  for (auto it = tagged.rbegin(); it != tagged.rend(); ++it) {
    const size_t i = *it;
    char buf[32];
    std::snprintf(buf, sizeof(buf), " %.*f", std::clamp(opts.score_decimals, 0, 6), double(scores[i]));
    text[i] = class_names[labels[i]] + buf;
    const auto& b = boxes[i];
    tag_boxes.push_back({std::min(b[0], b[2]), std::min(b[1], b[3]), std::max(b[0], b[2]), std::max(b[1], b[3])});
    sizes.push_back({text_width(text[i], opts.text_scale) + 2 * pad, text_height(opts.text_scale) + 2 * pad});
  }
  const std::vector<TagRect> spots = place_tags(img.width, img.height, tag_boxes, sizes);
  for (size_t k = spots.size(); k-- > 0;) {  // lowest score first: the best tag ends on top
    const size_t i = tagged[tagged.size() - 1 - k];
    const TagRect& t = spots[k];
    const Color c = class_color(labels[i]);
    fill_rect(img, float(t.x), float(t.y), float(t.x + t.w), float(t.y + t.h), c);
    draw_text(img, t.x + pad, t.y + pad, text[i], contrast_text_color(c), opts.text_scale);
  }
}

std::vector<TagRect> place_tags(int W, int H, const std::vector<std::array<float, 4>>& boxes,
                                const std::vector<std::array<int, 2>>& sizes) {
  if (boxes.size() != sizes.size()) throw std::invalid_argument("place_tags: boxes and sizes differ in length");
  auto overlap = [](const TagRect& a, const TagRect& b) -> long long {
    const long long w = std::min(a.x + a.w, b.x + b.w) - std::max(a.x, b.x);
    const long long h = std::min(a.y + a.h, b.y + b.h) - std::max(a.y, b.y);
    return w > 0 && h > 0 ? w * h : 0;
  };
  std::vector<TagRect> placed;
  for (size_t i = 0; i < boxes.size(); ++i) {
    const int w = sizes[i][0], h = sizes[i][1];
    const int x1 = clamp_to(std::round(boxes[i][0]), -(1 << 29), 1 << 29);
    const int y1 = clamp_to(std::round(boxes[i][1]), -(1 << 29), 1 << 29);
    const int x2 = clamp_to(std::round(boxes[i][2]), -(1 << 29), 1 << 29);
    const int y2 = clamp_to(std::round(boxes[i][3]), -(1 << 29), 1 << 29);
    const std::array<std::array<int, 2>, 8> spots = {{{x1, y1 - h}, {x1, y1}, {x1, y2}, {x1, y2 - h},
                                                      {x2 - w, y1 - h}, {x2 - w, y1}, {x2 - w, y2}, {x2 - w, y2 - h}}};
    TagRect best;
    long long best_cost = -1;
    for (const auto& s : spots) {
      TagRect t{s[0], s[1], w, h};
      // Into the image (the left and top edges win when the tag is wider or taller).
      t.x = std::max(0, std::min(t.x, W - w));
      t.y = std::max(0, std::min(t.y, H - h));
      long long cost = 0;
      for (const TagRect& p : placed) cost += overlap(t, p);
      if (best_cost < 0 || cost < best_cost) best = t, best_cost = cost;
      if (cost == 0) break;
    }
    placed.push_back(best);
  }
  return placed;
}

}  // namespace frcnn
