// Image: 8-bit RGB pixels, interleaved, row-major: pixel (x, y) channel c is
// data[(y * width + x) * 3 + c]. The one host image type: decoded files, synthetic
// images, canvases that detections and plots are drawn on.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace frcnn {

struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> data;  // height * width * 3

  Image() = default;
  Image(int w, int h, uint8_t r = 0, uint8_t g = 0, uint8_t b = 0);
  bool empty() const { return width == 0 || height == 0; }
  uint8_t* px(int x, int y) { return &data[(static_cast<size_t>(y) * width + x) * 3]; }
  const uint8_t* px(int x, int y) const { return &data[(static_cast<size_t>(y) * width + x) * 3]; }
};

// Which way up a decoded JPEG comes out.
enum class ImageOrientation {
  Displayed,  // the EXIF orientation tag (JPEG APP1, 0x0112) applied: the image as viewers show it
  Stored,     // the pixels as stored in the file, the tag ignored
};

// What load_image found besides the pixels.
struct ImageFileInfo {
  int exif_orientation = 1;  // 1..8 as in the file's EXIF tag; 1 (as stored) without a valid tag
  int channels = 0;          // channels in the file: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA
};

// Decodes JPEG/PNG/BMP/... through stb_image, and clean JPEGs through libjpeg-turbo (faster;
// data/jpeg_turbo.h; a damaged one falls back to stb_image). Grey becomes RGB; an alpha channel is dropped
// (each pixel keeps its stored colour, nothing is composited). With Displayed (the default)
// a JPEG's EXIF orientation is applied, so pixels and boxes are those of the image as
// viewers show it (orientations 5..8 swap width and height). Throws std::runtime_error
// naming the file: "<path>: cannot open (<errno text>)", "<path>: empty file, not an image",
// "<path>: not an image (...)", "<path>: cannot decode image: truncated JPEG (...)",
// "<path>: cannot decode image: corrupt PNG (stb_image: <reason>)", ...
Image load_image(const std::string& path, ImageOrientation orientation = ImageOrientation::Displayed,
                 ImageFileInfo* info = nullptr);

// The EXIF orientation (1..8) of a JPEG held in memory: the 0x0112 tag of IFD0 in its first
// APP1 "Exif" segment before the scan. 1 when the data is not a JPEG, has no such tag, or the
// EXIF block is malformed or truncated (every offset is bounds-checked; nothing is read
// outside [data, data + size)).
int jpeg_exif_orientation(const uint8_t* data, size_t size);

// The image as displayed for an EXIF orientation: 2 mirror left-right, 3 rotate 180,
// 4 mirror top-bottom, 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90
// counter-clockwise; 1 and anything outside 1..8 return the image unchanged.
Image apply_exif_orientation(const Image& img, int orientation);

// Encode by extension (.png, .jpg/.jpeg); quality applies to JPEG. Written atomically.
// Throws naming the path on failure or an unknown extension.
void save_image(const std::string& path, const Image& img, int jpeg_quality = 92);

}  // namespace frcnn
