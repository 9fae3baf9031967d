// CUDA version of image_blob.h: one thread per element of the slot.
#include "kernels/cuda_util.cuh"
#include "kernels/image_blob_cuda.h"

namespace frcnn {

using namespace cuda_detail;

namespace {
// image: (C, h, w) -> slot: (C, H, W), zeros outside [0, h) x [0, w)
__global__ void pad_image_kernel(const float* __restrict__ image, int C, int h, int w, float* __restrict__ slot,
                                 int H, int W) {
  const int64_t n = int64_t(C) * H * W;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < n; idx += int64_t(gridDim.x) * blockDim.x) {
    const int x = int(idx % W), y = int((idx / W) % H);
    const int64_t c = idx / (int64_t(H) * W);
    slot[idx] = (y < h && x < w) ? image[(c * h + y) * w + x] : 0.f;
  }
}
}  // namespace

void pad_image_into_cuda(const float* image, int C, int h, int w, float* slot, int H, int W, Stream s) {
  FRCNN_LAUNCH(pad_image_kernel, grid_stride_blocks(int64_t(C) * H * W), 256, 0, cuda_stream(s), image, C, h, w, slot,
               H, W);
}

}  // namespace frcnn
