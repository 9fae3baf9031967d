// CUDA versions of rpn_ops.h: one thread per output element.
#include "kernels/cuda_util.cuh"
#include "kernels/rpn_ops_cuda.h"

namespace frcnn {

using namespace cuda_detail;

namespace {
__global__ void fg_probs_kernel(const float* __restrict__ logits, float* __restrict__ out, int A, int HW) {
  const int64_t n = int64_t(A) * HW;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < n; idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t a = idx / HW, i = idx % HW;
    out[idx] = pair_softmax_fg(logits[(2 * a) * HW + i], logits[(2 * a + 1) * HW + i]);
  }
}

__global__ void rois_kernel(const float* __restrict__ boxes, float* __restrict__ rois, int64_t P, float batch_index) {
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < P * 5;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t p = idx / 5, j = idx % 5;
    rois[idx] = j == 0 ? batch_index : boxes[p * 4 + j - 1];
  }
}
}  // namespace

void rpn_foreground_probs_cuda(const float* logits, float* out, int A, int HW, Stream s) {
  cudaStream_t st = cuda_stream(s);
  FRCNN_LAUNCH(fg_probs_kernel, grid_stride_blocks(int64_t(A) * HW), 256, 0, st, logits, out, A, HW);
}

void boxes_to_rois_cuda(const float* boxes, float* rois, int64_t P, int batch_index, Stream s) {
  cudaStream_t st = cuda_stream(s);
  FRCNN_LAUNCH(rois_kernel, grid_stride_blocks(P * 5), 256, 0, st, boxes, rois, P, static_cast<float>(batch_index));
}

}  // namespace frcnn
