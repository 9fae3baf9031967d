#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include "data/draw.h"
#include "data/font_mono.h"
#include "tests/test_util.h"

using namespace frcnn;

namespace {
Color at(const Image& img, int x, int y) {
  const uint8_t* p = img.px(x, y);
  return {p[0], p[1], p[2]};
}
size_t count_color(const Image& img, Color c) {
  size_t n = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) n += at(img, x, y) == c;
  return n;
}
size_t count_not(const Image& img, Color c) { return size_t(img.width) * img.height - count_color(img, c); }
}  // namespace

TEST_CASE("draw: rectangle outline sets its pixels and nothing outside", "[draw]") {
  const Color bg{10, 20, 30}, red{255, 0, 0};
  Image img(40, 30, bg.r, bg.g, bg.b);
  draw_rect(img, 5, 4, 25, 20, red, 2);  // columns 5..24, rows 4..19, 2 px inward
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const bool in_box = x >= 5 && x < 25 && y >= 4 && y < 20;
      const bool in_hole = x >= 7 && x < 23 && y >= 6 && y < 18;
      INFO("pixel " << x << "," << y);
      REQUIRE((at(img, x, y) == red) == (in_box && !in_hole));
      if (!(in_box && !in_hole)) REQUIRE(at(img, x, y) == bg);
    }
  REQUIRE(count_color(img, red) == size_t(20 * 16 - 16 * 12));
}

TEST_CASE("draw: fill_rect blends with alpha and clips", "[draw]") {
  Image img(10, 10, 100, 100, 100);
  fill_rect(img, -5, -5, 3, 3, Color{200, 0, 100}, 0.5f);
  REQUIRE(at(img, 0, 0) == Color{150, 50, 100});
  REQUIRE(at(img, 2, 2) == Color{150, 50, 100});
  REQUIRE(at(img, 3, 3) == Color{100, 100, 100});
  REQUIRE(count_not(img, Color{100, 100, 100}) == 9);
  fill_rect(img, 0, 0, 10, 10, Color{0, 0, 0}, 0.f);
  REQUIRE(count_not(img, Color{100, 100, 100}) == 9);
}

TEST_CASE("draw: shapes partly or fully outside the image are clipped without crashing", "[draw]") {
  const Color bg{0, 0, 0}, c{0, 255, 0};
  Image img(20, 15, 0, 0, 0);
  draw_rect(img, -10, -10, 5, 5, c, 3);  // only its right and bottom bands show
  REQUIRE(at(img, 4, 0) == c);
  REQUIRE(at(img, 0, 4) == c);
  REQUIRE(at(img, 0, 0) == bg);  // interior of the box
  Image before = img;
  draw_rect(img, 100, 100, 200, 200, c, 2);      // fully outside
  draw_rect(img, -50, -40, -10, -5, c, 2);       // fully outside, negative
  draw_line(img, -1e9f, -1e9f, -1e8f, 5e8f, c, 3);  // far away and huge: bounded work
  fill_rect(img, 1e9f, 1e9f, 2e9f, 2e9f, c);
  draw_text(img, -1000, 3, "outside", c);
  draw_text(img, 18, 13, "edge", c, 3);  // mostly outside
  REQUIRE(img.data.size() == before.data.size());
  // Only the last text can have reached the image, at its top-left corner region.
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x)
      if (x < 18 || y < 13) REQUIRE(at(img, x, y) == at(before, x, y));
  Image empty;
  draw_rect(empty, 0, 0, 5, 5, c, 1);
  draw_line(empty, 0, 0, 5, 5, c);
  REQUIRE(empty.data.empty());
}

TEST_CASE("draw: non-finite coordinates and bad arguments are rejected", "[draw]") {
  Image img(10, 10);
  REQUIRE_THROWS_WITH(draw_rect(img, NAN, 0, 5, 5, Color{}), Catch::Contains("non-finite"));
  REQUIRE_THROWS_WITH(draw_line(img, 0, 0, INFINITY, 5, Color{}), Catch::Contains("non-finite"));
  REQUIRE_THROWS(draw_rect(img, 0, 0, 5, 5, Color{}, 0));
  REQUIRE_THROWS(text_width("x", 0));
  std::vector<std::string> names = {"cat"};
  REQUIRE_THROWS_WITH(draw_detections(img, {{0, 0, 5, 5}}, {0}, {NAN}, names), Catch::Contains("non-finite score"));
  REQUIRE_THROWS_WITH(draw_detections(img, {{0, NAN, 5, 5}}, {0}, {0.5f}, names),
                      Catch::Contains("non-finite coordinate"));
  REQUIRE_THROWS_WITH(draw_detections(img, {{0, 0, 5, 5}}, {1}, {0.5f}, names), Catch::Contains("label 1"));
  REQUIRE_THROWS_WITH(draw_detections(img, {{0, 0, 5, 5}}, {0, 0}, {0.5f}, names), Catch::Contains("must be equal"));
}

TEST_CASE("draw: anti-aliased line covers its path", "[draw]") {
  Image img(50, 50, 255, 255, 255);
  const Color blue{0, 0, 200};
  draw_line(img, 5, 5, 45, 45, blue, 3);
  REQUIRE(at(img, 25, 25) == blue);           // on the diagonal: full coverage
  REQUIRE(at(img, 45, 5) == Color{255, 255, 255});  // far corner untouched
  // Partial coverage exists (anti-aliasing), strictly between background and colour.
  bool partial = false;
  for (int y = 0; y < 50 && !partial; ++y)
    for (int x = 0; x < 50; ++x) {
      Color p = at(img, x, y);
      if (p != blue && p != Color{255, 255, 255}) partial = true;
    }
  REQUIRE(partial);
  Image hard(50, 50, 255, 255, 255);
  draw_line(hard, 0, 10.5f, 50, 10.5f, blue, 1, false);  // a horizontal 1 px row
  REQUIRE(count_color(hard, blue) == 50);
  for (int x = 0; x < 50; ++x) REQUIRE(at(hard, x, 10) == blue);
}

TEST_CASE("draw: text renders ink inside text_width and text_height", "[draw]") {
  const std::string s = "Hello, VOC 0.87 @W_|";
  for (int scale : {1, 2, 3}) {
    Image img(400, 80, 0, 0, 0);
    const int x0 = 10, y0 = 20;
    draw_text(img, x0, y0, s, Color{255, 255, 255}, scale);
    int minx = 1 << 30, maxx = -1, miny = 1 << 30, maxy = -1;
    size_t ink = 0;
    for (int y = 0; y < img.height; ++y)
      for (int x = 0; x < img.width; ++x)
        if (img.px(x, y)[0] > 0) {
          ++ink;
          minx = std::min(minx, x), maxx = std::max(maxx, x);
          miny = std::min(miny, y), maxy = std::max(maxy, y);
        }
    INFO("scale " << scale);
    REQUIRE(ink > s.size() * 4 * size_t(scale * scale));
    REQUIRE(minx >= x0);
    REQUIRE(maxx < x0 + text_width(s, scale));
    REQUIRE(maxx > x0 + text_width(s, scale) - 4 * font_mono::kAdvance * scale);  // ink reaches the last glyphs
    REQUIRE(miny >= y0);
    REQUIRE(maxy < y0 + text_height(scale));
  }
  REQUIRE(text_width("", 2) == 0);
  REQUIRE(text_width("ab", 2) == 2 * (font_mono::kAdvance + font_mono::kCellW));
  // Different glyphs differ; a space is blank; unprintable falls back to '?'.
  Image a(20, 20), b(20, 20), sp(20, 20), q(20, 20), u(20, 20);
  draw_text(a, 0, 0, "A", Color{255, 255, 255});
  draw_text(b, 0, 0, "B", Color{255, 255, 255});
  draw_text(sp, 0, 0, " ", Color{255, 255, 255});
  draw_text(q, 0, 0, "?", Color{255, 255, 255});
  draw_text(u, 0, 0, "\x01", Color{255, 255, 255});
  REQUIRE(a.data != b.data);
  REQUIRE(count_not(sp, Color{0, 0, 0}) == 0);
  REQUIRE(q.data == u.data);
  // Background box and vertical text.
  Image bgimg(100, 40, 0, 0, 0);
  draw_text(bgimg, 10, 10, "tag", Color{0, 0, 0}, 1, Color{9, 8, 7}, 2);
  REQUIRE(at(bgimg, 8, 8) == Color{9, 8, 7});
  REQUIRE(at(bgimg, 10 + text_width("tag") + 1, 10 + text_height() + 1) == Color{9, 8, 7});
  REQUIRE(at(bgimg, 7, 7) == Color{0, 0, 0});
  Image v(40, 100, 0, 0, 0);
  draw_text_vertical(v, 5, 5, "loss", Color{255, 255, 255});
  for (int y = 0; y < v.height; ++y)
    for (int x = 0; x < v.width; ++x)
      if (v.px(x, y)[0] > 0) {
        REQUIRE(x >= 5);
        REQUIRE(x < 5 + text_height());
        REQUIRE(y >= 5);
        REQUIRE(y < 5 + text_width("loss"));
      }
  REQUIRE(count_not(v, Color{0, 0, 0}) > 20);
}

TEST_CASE("draw: class palette is distinct", "[draw]") {
  std::set<std::tuple<int, int, int>> seen;
  for (int i = 0; i < 60; ++i) {
    Color c = class_color(i);
    seen.insert({c.r, c.g, c.b});
    REQUIRE(class_color(i) == c);  // deterministic
  }
  REQUIRE(seen.size() == 60);
  REQUIRE_THROWS(class_color(-1));
  REQUIRE(contrast_text_color(Color{255, 255, 200}) == Color{0, 0, 0});
  REQUIRE(contrast_text_color(Color{31, 119, 180}) == Color{255, 255, 255});
}

TEST_CASE("draw: detections get a box and a label tag above or inside", "[draw]") {
  const Color bg{240, 240, 240};
  Image img(200, 150, bg.r, bg.g, bg.b);
  std::vector<std::string> names = {"person", "dog"};
  // Box 0 has room above for its tag; box 1 touches the top edge: tag inside.
  draw_detections(img, {{40, 60, 120, 140}, {150, 0, 190, 80}}, {0, 1}, {0.87f, 0.5f}, names);
  const Color c0 = class_color(0), c1 = class_color(1);
  REQUIRE(at(img, 40, 100) == c0);   // left edge of box 0
  REQUIRE(at(img, 119, 139) == c0);  // bottom-right corner pixel
  REQUIRE(at(img, 80, 100) == bg);   // interior untouched
  const int th = text_height() + 2;  // tag height (pad 1 on each side)
  // Tag of box 0 fills the strip above the box starting at its left edge.
  REQUIRE(at(img, 41, 60 - th) == c0);
  REQUIRE(at(img, 41, 59) == c0);
  REQUIRE(at(img, 41, 60 - th - 1) == bg);
  // Its text is drawn in white on the blue tag.
  bool white = false;
  for (int y = 60 - th; y < 60; ++y)
    for (int x = 40; x < 40 + text_width("person 0.87"); ++x) white |= at(img, x, y) == Color{255, 255, 255};
  REQUIRE(white);
  // Tag of box 1 is inside (below the top edge), shifted left to stay in the image.
  const int tw1 = text_width("dog 0.50") + 2;
  REQUIRE(at(img, 199, 5) == c1);
  REQUIRE(at(img, 200 - tw1, th - 1) == c1);
  REQUIRE(at(img, 200 - tw1 - 1, th + 5) == bg);
  // min_score filters; a fully outside box draws nothing.
  Image img2(100, 100, bg.r, bg.g, bg.b);
  DetectionDrawOptions opt;
  opt.min_score = 0.6f;
  draw_detections(img2, {{10, 10, 50, 50}, {-80, -80, -20, -20}}, {0, 1}, {0.5f, 0.9f}, names, opt);
  REQUIRE(count_not(img2, bg) == 0);
}

TEST_CASE("draw: example detection image saves and decodes", "[draw]") {
  // A synthetic scene (sky, ground, a few shapes) with detections drawn on it; the PNG is
  // kept in the test's temp folder (docs/img/detections_example.png is a copy).
  const int W = 480, H = 320;
  Image img(W, H);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      uint8_t* p = img.px(x, y);
      if (y < 200) {  // sky: light blue gradient
        p[0] = uint8_t(150 + y / 4), p[1] = uint8_t(190 + y / 6), p[2] = 235;
      } else {        // ground: green with a little texture
        const int n = ((x * 73 + y * 151) % 17) - 8;
        p[0] = uint8_t(90 + n), p[1] = uint8_t(140 + n), p[2] = uint8_t(70 + n);
      }
    }
  fill_circle(img, 400, 60, 28, Color{250, 220, 90});                     // sun
  fill_rect(img, 60, 120, 180, 250, Color{150, 70, 60});                  // "house"
  fill_rect(img, 95, 180, 130, 250, Color{80, 50, 40});                   // door
  fill_circle(img, 300, 210, 30, Color{60, 60, 70});                      // "animal" body
  fill_circle(img, 338, 192, 14, Color{60, 60, 70});                      // head
  fill_rect(img, 210, 140, 228, 260, Color{200, 160, 120});               // "person"
  fill_circle(img, 219, 128, 12, Color{200, 160, 120});
  const std::vector<std::string> names = {"person", "dog", "house", "sun", "bird"};
  draw_detections(img,
                  {{204, 112, 234, 262}, {266, 176, 354, 242}, {56, 116, 184, 252}, {370, 30, 430, 90},
                   {-20, 0, 30, 40}},
                  {0, 1, 2, 3, 4}, {0.97f, 0.88f, 0.62f, 0.55f, 0.41f}, names);
  auto dir = test::temp_dir("draw_example");
  const auto path = (dir / "detections_example.png").string();
  save_image(path, img);
  Image back = load_image(path);
  REQUIRE(back.width == W);
  REQUIRE(back.height == H);
  REQUIRE(back.data == img.data);
  std::printf("example written: %s\n", path.c_str());
}

TEST_CASE("draw: tags of nearby boxes do not overlap, on a small image too", "[draw]") {
  // Three boxes a few pixels apart on a 160 x 100 image (a small photo with a crowd): one
  // tag above each would be drawn on top of the others.
  const std::vector<std::array<float, 4>> boxes = {{30, 40, 110, 90}, {34, 46, 114, 96}, {26, 52, 106, 99}};
  const std::vector<std::array<int, 2>> sizes(3, {70, 15});
  const auto tags = place_tags(160, 100, boxes, sizes);
  REQUIRE(tags.size() == 3);
  for (size_t a = 0; a < 3; ++a) {
    INFO("tag " << a << " at " << tags[a].x << "," << tags[a].y);
    REQUIRE(tags[a].x >= 0);
    REQUIRE(tags[a].y >= 0);
    REQUIRE(tags[a].x + tags[a].w <= 160);
    REQUIRE(tags[a].y + tags[a].h <= 100);
    for (size_t b = a + 1; b < 3; ++b) {
      const bool apart = tags[a].x + tags[a].w <= tags[b].x || tags[b].x + tags[b].w <= tags[a].x ||
                         tags[a].y + tags[a].h <= tags[b].y || tags[b].y + tags[b].h <= tags[a].y;
      REQUIRE(apart);
    }
  }
  // The first (best) box keeps the usual spot: above its top-left corner.
  REQUIRE(tags[0].x == 30);
  REQUIRE(tags[0].y == 40 - 15);

  // Through draw_detections: every tag's colour shows in a strip of its own.
  const Color bg{240, 240, 240};
  Image img(160, 100, bg.r, bg.g, bg.b);
  draw_detections(img, boxes, {0, 1, 2}, {0.9f, 0.8f, 0.7f}, {"person", "dog", "cat"});
  for (int k = 0; k < 3; ++k) {
    int filled = 0;  // pixels of the tag's colour: a tag covered by another would have few
    for (int y = 0; y < img.height; ++y)
      for (int x = 0; x < img.width; ++x) filled += at(img, x, y) == class_color(k);
    const int tag_w = text_width(std::string(k == 0 ? "person" : k == 1 ? "dog" : "cat") + " 0.90") + 2;
    INFO("class " << k << ": " << filled << " pixels");
    REQUIRE(filled > tag_w * (text_height() + 2) / 2);
  }
}
