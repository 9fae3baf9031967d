// Fuzz target: one image file through load_image (data/image.h), the decoder of every
// dataset image and every `frcnn detect` input; stb_image accepts JPEG, PNG, BMP, GIF, PSD,
// TGA, HDR, PIC and PNM, and the seed corpus has one of each. In the fuzz build stb_image is
// compiled from its header with the sanitizers (tests/fuzz/support/stb_image_impl.cpp), not
// taken from the uninstrumented Debian library. A decoded image must be a non-empty RGB
// buffer of exactly width * height * 3 bytes.
#include <string>

#include "data/image.h"
#include "tests/fuzz/fuzz_util.h"

FRCNN_FUZZ_TARGET(image) {
  using namespace frcnn;
  const std::string path = fuzz::write_input(data, size, "input.img");
  fuzz::expect_clean(path, [&] {
    const Image img = load_image(path);
    fuzz::check(img.width > 0 && img.height > 0, "a decoded image is not empty");
    fuzz::check(img.data.size() == static_cast<size_t>(img.width) * img.height * 3, "RGB buffer of w*h*3 bytes");
  });
  return 0;
}
