// CPU reference of image_blob.h: a plain loop nest.
#include <cstdint>

namespace frcnn {

// image: (C, h, w) -> slot: (C, H, W), zeros outside [0, h) x [0, w)
void pad_image_into_cpu(const float* image, int C, int h, int w, float* slot, int H, int W) {
  for (int c = 0; c < C; ++c)
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x)
        slot[(int64_t(c) * H + y) * W + x] = (y < h && x < w) ? image[(int64_t(c) * h + y) * w + x] : 0.f;
}

}  // namespace frcnn
