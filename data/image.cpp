#include "data/image.h"

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "engine/safetensors.h"  // write_file_atomic

namespace frcnn {

Image::Image(int w, int h, uint8_t r, uint8_t g, uint8_t b) : width(w), height(h) {
  if (w < 0 || h < 0) throw std::invalid_argument("Image: negative size");
  data.resize(static_cast<size_t>(w) * h * 3);
  for (size_t i = 0; i < data.size(); i += 3) {
    data[i] = r;
    data[i + 1] = g;
    data[i + 2] = b;
  }
}

Image load_image(const std::string& path) {
  int w = 0, h = 0, c = 0;
  unsigned char* p = stbi_load(path.c_str(), &w, &h, &c, 3);  // forces 3 channels
  if (!p) {
    const char* why = stbi_failure_reason();
    throw std::runtime_error(path + ": cannot decode image (" + (why ? why : "unknown reason") + ")");
  }
  Image img;
  img.width = w;
  img.height = h;
  img.data.assign(p, p + static_cast<size_t>(w) * h * 3);
  stbi_image_free(p);
  return img;
}

namespace {
void append_bytes(void* ctx, void* data, int size) {
  auto* out = static_cast<std::string*>(ctx);
  out->append(static_cast<const char*>(data), static_cast<size_t>(size));
}
std::string lower_ext(const std::string& path) {
  auto dot = path.find_last_of('.');
  std::string e = dot == std::string::npos ? "" : path.substr(dot + 1);
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return e;
}
}  // namespace

void save_image(const std::string& path, const Image& img, int jpeg_quality) {
  if (img.empty()) throw std::runtime_error(path + ": cannot save an empty image");
  std::string bytes;
  const std::string ext = lower_ext(path);
  int ok = 0;
  if (ext == "png") {
    ok = stbi_write_png_to_func(append_bytes, &bytes, img.width, img.height, 3, img.data.data(), img.width * 3);
  } else if (ext == "jpg" || ext == "jpeg") {
    ok = stbi_write_jpg_to_func(append_bytes, &bytes, img.width, img.height, 3, img.data.data(), jpeg_quality);
  } else {
    throw std::runtime_error(path + ": unknown image extension '" + ext + "' (use .png or .jpg)");
  }
  if (!ok) throw std::runtime_error(path + ": image encoding failed");
  write_file_atomic(path, bytes);
}

}  // namespace frcnn
