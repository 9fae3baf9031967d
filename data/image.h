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

// Decodes JPEG/PNG/BMP/... through stb_image; grayscale and RGBA become RGB.
// Throws std::runtime_error "<path>: cannot decode image (<reason>)" for missing,
// unreadable, corrupt or truncated files.
Image load_image(const std::string& path);

// Encode by extension (.png, .jpg/.jpeg); quality applies to JPEG. Written atomically.
// Throws naming the path on failure or an unknown extension.
void save_image(const std::string& path, const Image& img, int jpeg_quality = 92);

}  // namespace frcnn
