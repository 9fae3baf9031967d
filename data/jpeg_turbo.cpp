#include "data/jpeg_turbo.h"

#include <turbojpeg.h>

#include <memory>

namespace frcnn {

namespace {

// One decompressor per thread (the loader decodes on several): a handle is not
// thread-safe, and making one per image would cost more than small images take to decode.
// After a failed decode the handle is replaced: one left from a call stopped by a warning
// refused every later file too, which then went to stb_image, whose pixels differ (the
// loader test saw it after the truncated-JPEG tests had run in the same thread).
struct TjHandle {
  tjhandle h = tjInitDecompress();
  ~TjHandle() { reset(nullptr); }
  void reset(tjhandle n) {
    if (h) tjDestroy(h);
    h = n;
  }
};

// One decode on handle `tj` (see decode_jpeg_turbo).
bool decode(tjhandle tj, const std::string& bytes, int width, int height, Image* out, int* channels) {
  const auto* src = reinterpret_cast<const unsigned char*>(bytes.data());
  const unsigned long size = static_cast<unsigned long>(bytes.size());
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj, src, size, &w, &h, &subsamp, &colorspace) != 0) return false;
  const bool rgb_out = colorspace == TJCS_RGB || colorspace == TJCS_YCbCr || colorspace == TJCS_GRAY;
  if (w != width || h != height || w <= 0 || h <= 0 || !rgb_out) return false;
  Image img;
  img.width = w;
  img.height = h;
  img.data.resize(static_cast<size_t>(w) * h * 3);
  // TJFLAG_STOPONWARNING: a warning (truncated or corrupt data) fails the call, so a damaged
  // file never passes for a clean one here.
  if (tjDecompress2(tj, src, size, img.data.data(), w, 0, h, TJPF_RGB, TJFLAG_STOPONWARNING) != 0) return false;
  *out = std::move(img);
  *channels = colorspace == TJCS_GRAY ? 1 : 3;
  return true;
}

}  // namespace

bool decode_jpeg_turbo(const std::string& bytes, int width, int height, Image* out, int* channels) {
  thread_local TjHandle tj;
  if (!tj.h) tj.reset(tjInitDecompress());
  if (!tj.h) return false;
  if (decode(tj.h, bytes, width, height, out, channels)) return true;
  tj.reset(tjInitDecompress());
  return false;
}

}  // namespace frcnn
