// CPU reference of mma_tile.h: round the operands as the tensor core reads them, then a
// plain loop nest.
#include "kernels/mma_tile.h"
#include "kernels/tensor_formats.h"

namespace frcnn {

void mma_tile_cpu(MmaFormat format, const float* a, const float* b, const float* c, float* d) {
  const int K = format == MmaFormat::Tf32 ? 8 : 16;
  auto round = [&](float x) { return format == MmaFormat::Tf32 ? ptx::round_to_tf32(x) : ptx::round_to_bf16(x); };
  for (int m = 0; m < 16; ++m)    // a: (16, K)
    for (int n = 0; n < 8; ++n) {  // b: (K, 8); c, d: (16, 8)
      float acc = c[m * 8 + n];
      for (int k = 0; k < K; ++k) acc += round(a[m * K + k]) * round(b[k * 8 + n]);
      d[m * 8 + n] = acc;
    }
}

}  // namespace frcnn
