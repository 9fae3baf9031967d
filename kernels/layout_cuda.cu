// CUDA half of layout.h: one thread per output element (writes coalesced).
#include "kernels/cuda_util.cuh"
#include "kernels/layout_cuda.h"

namespace frcnn {

using namespace cuda_detail;

__global__ void layout_permute_kernel(const float* __restrict__ in, int64_t N, int64_t C, int64_t H, int64_t W,
                                      bool to_nhwc, float* __restrict__ out) {
  const int64_t total = N * C * H * W;
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < total; o += int64_t(gridDim.x) * blockDim.x) {
    if (to_nhwc) {  // o indexes (n, h, w, c)
      const int64_t c = o % C, w = (o / C) % W, h = (o / (C * W)) % H, n = o / (C * W * H);
      out[o] = in[((n * C + c) * H + h) * W + w];
    } else {  // o indexes (n, c, h, w)
      const int64_t w = o % W, h = (o / W) % H, c = (o / (W * H)) % C, n = o / (W * H * C);
      out[o] = in[((n * H + h) * W + w) * C + c];
    }
  }
}

void layout_permute_cuda(const float* in, int64_t N, int64_t C, int64_t H, int64_t W, bool to_nhwc, float* out,
                         Stream s) {
  cudaStream_t cs = cuda_stream(s);
  FRCNN_LAUNCH(layout_permute_kernel, grid_stride_blocks(N * C * H * W), kBlockThreads, 0, cs, in, N, C, H, W, to_nhwc,
               out);
}

}  // namespace frcnn
