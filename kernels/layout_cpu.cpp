// CPU reference for layout.h.
#include <cstdint>

namespace frcnn {

// to_nhwc: in (N, C, H, W) -> out (N, H, W, C); otherwise in (N, H, W, C) -> out (N, C, H, W)
void layout_permute_cpu(const float* in, int64_t N, int64_t C, int64_t H, int64_t W, bool to_nhwc, float* out) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) {
          const int64_t nchw = ((n * C + c) * H + h) * W + w, nhwc = ((n * H + h) * W + w) * C + c;
          if (to_nhwc) out[nhwc] = in[nchw];
          else out[nchw] = in[nhwc];
        }
}

}  // namespace frcnn
