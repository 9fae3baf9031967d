#include "data/synth.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "engine/log.h"
#include "engine/philox.h"
#include "engine/safetensors.h"  // write_file_atomic

namespace fs = std::filesystem;

namespace frcnn {

namespace {

// Sequential draws from one Philox stream.
struct Draws {
  uint64_t seed, stream, i = 0;
  uint32_t u32() { return philox_u32(seed, stream, i++); }
  // Uniform integer in [lo, hi] (modulo bias is irrelevant here).
  int range(int lo, int hi) { return hi <= lo ? lo : lo + static_cast<int>(u32() % uint32_t(hi - lo + 1)); }
  float uniform() { return static_cast<float>(u32() >> 8) * (1.0f / 16777216.0f); }
};

// Stream ids (kept apart from engine/rng.h's hashed ids by the top byte).
uint64_t layout_stream(uint64_t index) { return (uint64_t(0x53) << 56) | (index << 1); }
uint64_t noise_stream(uint64_t index) { return (uint64_t(0x53) << 56) | (index << 1) | 1; }

enum Shape { Circle = 0, Square, Triangle, Cross, Ring, Diamond, NumShapes };

const uint8_t kColours[NumShapes][3] = {
    {220, 40, 40},   // circle: red
    {40, 70, 220},   // square: blue
    {40, 190, 60},   // triangle: green
    {230, 210, 40},  // cross: yellow
    {200, 50, 200},  // ring: magenta
    {40, 200, 210},  // diamond: cyan
};

// Membership of the pixel centre in a shape whose bounding box is w x h; (u, v) are the
// centre's coordinates relative to the box centre, scaled to [-1, 1].
bool inside(int shape, float u, float v) {
  const float au = u < 0 ? -u : u, av = v < 0 ? -v : v;
  switch (shape) {
    case Circle: return u * u + v * v <= 1.f;
    case Square: return au <= 1.f && av <= 1.f;
    case Triangle: return av <= 1.f && au <= (v + 1.f) * 0.5f;  // apex up
    case Cross: return (au <= 0.3f && av <= 1.f) || (av <= 0.3f && au <= 1.f);
    case Ring: {
      const float r2 = u * u + v * v;
      return r2 <= 1.f && r2 >= 0.45f * 0.45f;
    }
    case Diamond: return au + av <= 1.f;
    default: return false;
  }
}

uint8_t clamp_u8(int v) { return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); }

// Draws `shape` filling box [x0, x0+w) x [y0, y0+h) in `colour`; returns the tight
// pixel bounds of what was drawn (minx, miny, maxx, maxy; inclusive), or false if none.
bool draw_shape(Image& img, int shape, int x0, int y0, int w, int h, const int colour[3], int bounds[4]) {
  bounds[0] = bounds[1] = 1 << 30;
  bounds[2] = bounds[3] = -1;
  for (int y = std::max(0, y0); y < std::min(img.height, y0 + h); ++y)
    for (int x = std::max(0, x0); x < std::min(img.width, x0 + w); ++x) {
      const float u = (x + 0.5f - x0 - w * 0.5f) / (w * 0.5f);
      const float v = (y + 0.5f - y0 - h * 0.5f) / (h * 0.5f);
      if (!inside(shape, u, v)) continue;
      uint8_t* p = img.px(x, y);
      for (int c = 0; c < 3; ++c) p[c] = clamp_u8(colour[c]);
      bounds[0] = std::min(bounds[0], x);
      bounds[1] = std::min(bounds[1], y);
      bounds[2] = std::max(bounds[2], x);
      bounds[3] = std::max(bounds[3], y);
    }
  return bounds[2] >= 0;
}

float iou(const VocObject& a, float x1, float y1, float x2, float y2) {
  const float iw = std::min(a.x2, x2) - std::max(a.x1, x1), ih = std::min(a.y2, y2) - std::max(a.y1, y1);
  if (iw <= 0 || ih <= 0) return 0.f;
  const float inter = iw * ih;
  return inter / ((a.x2 - a.x1) * (a.y2 - a.y1) + (x2 - x1) * (y2 - y1) - inter);
}

void background(Image& img, Draws& r) {
  // A linear gradient between two colours along a random direction.
  int c0[3], c1[3];
  for (int c = 0; c < 3; ++c) c0[c] = r.range(40, 215), c1[c] = r.range(40, 215);
  const float a = r.uniform() * 2.f - 1.f, b = r.uniform() * 2.f - 1.f;
  const float corners[4] = {0.f, a * img.width, b * img.height, a * img.width + b * img.height};
  const float lo = *std::min_element(corners, corners + 4), hi = *std::max_element(corners, corners + 4);
  const float span = hi - lo > 1e-3f ? hi - lo : 1.f;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const float t = (a * x + b * y - lo) / span;
      uint8_t* p = img.px(x, y);
      for (int c = 0; c < 3; ++c) p[c] = clamp_u8(static_cast<int>(c0[c] + t * (c1[c] - c0[c])));
    }
  // Distractors: small blobs (discs and rectangles) and thin lines in random colours.
  const int blobs = r.range(6, 14);
  for (int i = 0; i < blobs; ++i) {
    int col[3] = {r.range(0, 255), r.range(0, 255), r.range(0, 255)};
    const int kind = r.range(0, 2);
    if (kind < 2) {
      const int w = r.range(4, 18), h = r.range(4, 18);
      const int x0 = r.range(-4, img.width - 4), y0 = r.range(-4, img.height - 4);
      int bounds[4];
      draw_shape(img, kind == 0 ? Circle : Square, x0, y0, w, h, col, bounds);
    } else {
      // A thin line from (xa, ya) to (xb, yb), 1-2 px thick.
      const int xa = r.range(0, img.width - 1), ya = r.range(0, img.height - 1);
      const int xb = r.range(0, img.width - 1), yb = r.range(0, img.height - 1);
      const int thick = r.range(1, 2);
      const int steps = std::max(std::abs(xb - xa), std::abs(yb - ya)) + 1;
      for (int s = 0; s < steps; ++s) {
        const int x = xa + (xb - xa) * s / steps, y = ya + (yb - ya) * s / steps;
        for (int dy = 0; dy < thick; ++dy)
          for (int dx = 0; dx < thick; ++dx)
            if (x + dx < img.width && y + dy < img.height) {
              uint8_t* p = img.px(x + dx, y + dy);
              for (int c = 0; c < 3; ++c) p[c] = clamp_u8(col[c]);
            }
      }
    }
  }
}

// Places one object of side range [smin, smax] avoiding IoU > max_iou with `placed`;
// returns false when no position was found in 30 tries.
bool place_object(Image& img, Draws& r, int smin, int smax, float max_iou, bool difficult,
                  std::vector<VocObject>& placed) {
  const int shape = r.range(0, NumShapes - 1);
  const int limit = std::min(smax, std::min(img.width, img.height) - 4);
  if (limit < smin) return false;
  const int w = r.range(smin, limit);
  // Aspect ratio 0.75..1.33 (heights clamped to the same range).
  int h = static_cast<int>(w * (0.75f + 0.58f * r.uniform()));
  h = std::max(smin, std::min(h, limit));
  int col[3];
  for (int c = 0; c < 3; ++c) col[c] = kColours[shape][c] + r.range(-25, 25);
  for (int attempt = 0; attempt < 30; ++attempt) {
    const int x0 = r.range(2, img.width - w - 2), y0 = r.range(2, img.height - h - 2);
    bool ok = true;
    for (const auto& o : placed)
      if (iou(o, float(x0), float(y0), float(x0 + w), float(y0 + h)) > max_iou) ok = false;
    if (!ok) continue;
    int b[4];
    if (!draw_shape(img, shape, x0, y0, w, h, col, b)) return false;
    VocObject obj;
    obj.name = synth_class_names()[shape];
    obj.label = shape + 1;
    // Tight pixel bounds [minx, maxx] -> continuous (minx, miny, maxx + 1, maxy + 1).
    obj.x1 = float(b[0]);
    obj.y1 = float(b[1]);
    obj.x2 = float(b[2] + 1);
    obj.y2 = float(b[3] + 1);
    obj.difficult = difficult;
    placed.push_back(obj);
    return true;
  }
  return false;
}

std::string id_of(uint64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%06llu", static_cast<unsigned long long>(index + 1));
  return buf;
}

}  // namespace

std::vector<std::string> synth_class_names() { return {"circle", "square", "triangle", "cross", "ring", "diamond"}; }

SynthSample make_synthetic_image(uint64_t seed, uint64_t index, int min_side, int max_side) {
  if (min_side < 64 || max_side < min_side)
    throw std::invalid_argument(str_cat("make_synthetic_image: need 64 <= min_side <= max_side, got ", min_side, ", ",
                                        max_side));
  Draws r{seed, layout_stream(index)};
  SynthSample s;
  const int w = r.range(min_side, max_side), h = r.range(min_side, max_side);
  s.image = Image(w, h);
  background(s.image, r);

  // Objects are drawn in order, later ones on top (so an overlapped object is partly
  // occluded, as in real photos; its box stays the full drawn extent).
  const int n = r.range(1, 4);
  for (int i = 0; i < n; ++i) place_object(s.image, r, 30, 120, 0.4f, false, s.objects);
  if (s.objects.empty()) place_object(s.image, r, 30, 60, 1.0f, false, s.objects);  // always >= 1
  if (r.uniform() < 0.25f) place_object(s.image, r, 12, 22, 0.0f, true, s.objects);

  // Pixel noise: +-12 per channel, one Philox value per pixel (independent of layout).
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const uint32_t v = philox_u32(seed, noise_stream(index), uint64_t(y) * w + x);
      uint8_t* p = s.image.px(x, y);
      for (int c = 0; c < 3; ++c) p[c] = clamp_u8(int(p[c]) + int((v >> (8 * c)) & 0xff) % 25 - 12);
    }
  return s;
}

std::string voc_annotation_xml(const std::string& id, int width, int height, const std::vector<VocObject>& objects) {
  std::string x;
  x += "<annotation>\n";
  x += "\t<folder>VOC2007</folder>\n";
  x += "\t<filename>" + id + ".jpg</filename>\n";
  x += "\t<source>\n\t\t<database>frcnn synthetic</database>\n\t</source>\n";
  x += str_cat("\t<size>\n\t\t<width>", width, "</width>\n\t\t<height>", height, "</height>\n\t\t<depth>3</depth>\n\t</size>\n");
  x += "\t<segmented>0</segmented>\n";
  for (const auto& o : objects) {
    // Continuous (x1, y1, x2, y2) -> VOC's 1-based inclusive (x1 + 1, y1 + 1, x2, y2).
    x += "\t<object>\n";
    x += "\t\t<name>" + o.name + "</name>\n";
    x += "\t\t<pose>Unspecified</pose>\n";
    x += str_cat("\t\t<truncated>", o.truncated ? 1 : 0, "</truncated>\n");
    x += str_cat("\t\t<difficult>", o.difficult ? 1 : 0, "</difficult>\n");
    x += str_cat("\t\t<bndbox>\n\t\t\t<xmin>", static_cast<int>(o.x1) + 1, "</xmin>\n\t\t\t<ymin>",
                 static_cast<int>(o.y1) + 1, "</ymin>\n\t\t\t<xmax>", static_cast<int>(o.x2), "</xmax>\n\t\t\t<ymax>",
                 static_cast<int>(o.y2), "</ymax>\n\t\t</bndbox>\n");
    x += "\t</object>\n";
  }
  x += "</annotation>\n";
  return x;
}

namespace {

// Refuses to write into `root` unless it is missing or empty, or `force` is set and it holds
// no VOC dataset other than one synth wrote (whose files are then removed, so that the new
// dataset is exactly what this call writes).
void check_output_folder(const fs::path& root, bool force) {
  std::error_code ec;
  if (!fs::exists(root, ec)) return;
  if (!fs::is_directory(root, ec)) throw std::runtime_error(root.string() + ": exists and is not a folder");
  if (fs::is_empty(root, ec)) return;
  const char* voc_parts[] = {"JPEGImages", "Annotations", "ImageSets", "classes.txt"};
  const bool ours = fs::exists(root / kSynthMarker, ec);
  bool voc = false;
  for (const char* p : voc_parts) voc = voc || fs::exists(root / p, ec);
  if (voc && !ours)
    throw std::runtime_error(root.string() + ": holds a VOC dataset that frcnn synth did not write (no " +
                             kSynthMarker + "); refusing to write into it, even with --force: give another --out");
  if (!force)
    throw std::runtime_error(root.string() + ": not empty; refusing to write into it (give an empty or new --out, or " +
                             "--force to write there" + (ours ? ", replacing the synthetic dataset it holds)" : ")"));
  if (ours)
    for (const char* p : voc_parts) {
      fs::remove_all(root / p, ec);
      if (ec) throw std::runtime_error((root / p).string() + ": cannot remove (" + ec.message() + ")");
    }
}

}  // namespace

SynthSummary write_synthetic_voc(const SynthOptions& opt) {
  if (opt.out.empty()) throw std::invalid_argument("write_synthetic_voc: no output folder given");
  if (opt.train < 0 || opt.test < 0 || opt.train + opt.test == 0)
    throw std::invalid_argument(str_cat("write_synthetic_voc: need a positive number of images, got train ", opt.train,
                                        " test ", opt.test));
  const fs::path root(opt.out);
  check_output_folder(root, opt.force);
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) throw std::runtime_error(root.string() + ": cannot create folder (" + ec.message() + ")");
  // The marker goes first: a synth interrupted half-way leaves a folder a later --force may redo.
  write_file_atomic((root / kSynthMarker).string(),
                    str_cat("frcnn synth: seed ", opt.seed, ", train ", opt.train, ", test ", opt.test, ", sides ",
                            opt.min_side, "..", opt.max_side, "\n"));
  for (const char* sub : {"JPEGImages", "Annotations", "ImageSets/Main"}) {
    fs::create_directories(root / sub, ec);
    if (ec) throw std::runtime_error((root / sub).string() + ": cannot create folder (" + ec.message() + ")");
  }
  const auto classes = synth_class_names();
  SynthSummary sum;
  struct Split {
    const char* name;
    uint64_t begin, end;
  };
  const Split splits[2] = {{"trainval", 0, uint64_t(opt.train)},
                           {"test", uint64_t(opt.train), uint64_t(opt.train) + uint64_t(opt.test)}};
  for (const Split& sp : splits) {
    std::string list;
    std::vector<std::string> per_class(classes.size());
    for (uint64_t i = sp.begin; i < sp.end; ++i) {
      const std::string id = id_of(i);
      SynthSample s = make_synthetic_image(opt.seed, i, opt.min_side, opt.max_side);
      save_image((root / "JPEGImages" / (id + ".jpg")).string(), s.image, opt.jpeg_quality);
      write_file_atomic((root / "Annotations" / (id + ".xml")).string(),
                        voc_annotation_xml(id, s.image.width, s.image.height, s.objects));
      list += id + "\n";
      for (size_t c = 0; c < classes.size(); ++c) {
        // VOC's per-class lists: 1 present, 0 only difficult instances, -1 absent.
        int flag = -1;
        for (const auto& o : s.objects)
          if (o.label == int(c) + 1) flag = std::max(flag, o.difficult ? 0 : 1);
        per_class[c] += id + (flag == -1 ? " -1\n" : (flag == 0 ? "  0\n" : "  1\n"));
      }
      ++sum.images;
      sum.objects += static_cast<int>(s.objects.size());
      for (const auto& o : s.objects) sum.difficult += o.difficult ? 1 : 0;
    }
    write_file_atomic((root / "ImageSets" / "Main" / (std::string(sp.name) + ".txt")).string(), list);
    for (size_t c = 0; c < classes.size(); ++c)
      write_file_atomic((root / "ImageSets" / "Main" / (classes[c] + "_" + sp.name + ".txt")).string(), per_class[c]);
  }
  std::string cls;
  for (const auto& c : classes) cls += c + "\n";
  write_file_atomic((root / "classes.txt").string(), cls);
  return sum;
}

}  // namespace frcnn
