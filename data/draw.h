// Drawing on an Image (data/image.h, RGB u8): rectangles, alpha-blended fills,
// anti-aliased lines, text in a built-in bitmap font, a per-class colour palette, and
// draw_detections() for detection results. Used by `frcnn detect` and by train/plot.
//
// Coordinates are continuous image coordinates (docs/DATA.md, box conventions): pixel (x, y) covers
// [x, x+1) x [y, y+1) and its centre is (x + 0.5, y + 0.5). A box (x1, y1, x2, y2) covers
// the pixel columns round(x1) .. round(x2)-1 and rows round(y1) .. round(y2)-1.
// Everything is clipped to the image: shapes partly or fully outside draw only what is
// inside (possibly nothing) and never write out of bounds. Non-finite coordinates throw
// std::invalid_argument (they have no place to be drawn, and hiding them hides a bug).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/image.h"

namespace frcnn {

struct Color {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Color& o) const { return r == o.r && g == o.g && b == o.b; }
  bool operator!=(const Color& o) const { return !(*this == o); }
};

// A distinct colour per class index (>= 0): the 20 Tableau colours (tab10, then its light
// tints), then golden-angle hues. Deterministic; index i always gives the same colour.
Color class_color(int index);
// Black or white, whichever reads better on `bg` (by relative luminance).
Color contrast_text_color(Color bg);

// Blends `c` over pixel (x, y) with weight alpha in [0, 1]; no-op outside the image.
void blend_pixel(Image& img, int x, int y, Color c, float alpha);

// Fills the box with `c` blended at `alpha` (1 = opaque).
void fill_rect(Image& img, float x1, float y1, float x2, float y2, Color c, float alpha = 1.f);
// Outline of the box, `thickness` pixels wide, drawn inward from the box's edge (so the
// outline never leaves the box). thickness >= 1.
void draw_rect(Image& img, float x1, float y1, float x2, float y2, Color c, int thickness = 1);
// Segment from (x0, y0) to (x1, y1) with round caps, `thickness` pixels wide (> 0). With
// antialias, each pixel gets coverage clamp(thickness/2 + 0.5 - distance, 0, 1) from its
// centre's distance to the segment; without, pixels whose centre is within thickness/2.
void draw_line(Image& img, float x0, float y0, float x1, float y1, Color c, float thickness = 1.f,
               bool antialias = true);
// Consecutive points joined by draw_line.
void draw_polyline(Image& img, const std::vector<std::array<float, 2>>& points, Color c, float thickness = 1.f,
                   bool antialias = true);
// Filled disc of radius r centred at (cx, cy), anti-aliased.
void fill_circle(Image& img, float cx, float cy, float r, Color c);

// ---- text (data/font_mono.h: anti-aliased monospaced cells, printable ASCII) -------------
// Characters outside 32..126 are drawn as '?'. scale >= 1 enlarges every font pixel to
// scale x scale.
int text_width(const std::string& text, int scale = 1);  // pixels: every inked pixel lies within
int text_height(int scale = 1);                          // one line: the cell height * scale
// Draws `text` with its cell's top-left at (x, y). With `background`, first fills the box
// (x - pad, y - pad, x + text_width + pad, y + text_height + pad) with it.
void draw_text(Image& img, int x, int y, const std::string& text, Color fg, int scale = 1,
               std::optional<Color> background = std::nullopt, int pad = 2);
// Text rotated 90 degrees counter-clockwise (reads bottom to top, as a y-axis label), its
// bounding box's top-left at (x, y): text_height wide, text_width tall.
void draw_text_vertical(Image& img, int x, int y, const std::string& text, Color fg, int scale = 1);

// ---- detections -------------------------------------------------------------------------
struct DetectionDrawOptions {
  int thickness = 2;            // box outline width in pixels
  int text_scale = 1;           // font scale of the labels
  float min_score = 0.f;        // detections scoring below are not drawn
  int score_decimals = 2;       // "dog 0.87"
};

// Where the tags of boxes go, in priority order (the first box chooses first): for each box
// the first of these spots, each moved into the image, that overlaps no tag placed before:
// above the box's top-left corner, inside it under the top edge, below the bottom-left
// corner, inside above the bottom edge, then the same four at the right edge; when all
// overlap, the one overlapping least. boxes: (x1, y1, x2, y2); sizes: each tag's (w, h).
struct TagRect {
  int x = 0, y = 0, w = 0, h = 0;
};
std::vector<TagRect> place_tags(int image_width, int image_height, const std::vector<std::array<float, 4>>& boxes,
                                const std::vector<std::array<int, 2>>& sizes);

// One box per detection in class_color(label), with a filled tag "name 0.87" in the same
// colour (text in contrast_text_color) just above the box, or inside the box's top edge
// when there is no room above, the tag kept in the image; where tags of nearby boxes would
// overlap (crowded or small images), place_tags moves the lower-scoring ones to another
// corner of their box. Boxes are drawn first, lowest score first, then the tags, so no box
// outline crosses a tag and the best detections end on top. boxes: (N, 4) (x1, y1, x2, y2) in our
// convention; labels index class_names; scores in any range. Throws std::invalid_argument
// for mismatched lengths, a label out of range, or a non-finite score or coordinate.
void draw_detections(Image& img, const std::vector<std::array<float, 4>>& boxes, const std::vector<int>& labels,
                     const std::vector<float>& scores, const std::vector<std::string>& class_names,
                     const DetectionDrawOptions& opts = {});

}  // namespace frcnn
