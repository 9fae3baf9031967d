// CUDA half of anchors.h: one thread per (anchor, coordinate).
#include "kernels/anchors_cuda.h"
#include "kernels/cuda_util.cuh"

namespace frcnn {

using namespace cuda_detail;

constexpr int kMaxBaseAnchors = 64;
struct BaseTable {
  float v[4 * kMaxBaseAnchors];
};

__global__ void make_anchors_kernel(BaseTable base, int A, int feat_w, int stride, int total, float* __restrict__ out) {
  for (int t = blockIdx.x * blockDim.x + threadIdx.x; t < total; t += gridDim.x * blockDim.x)
    out[t] = shifted_anchor(base.v, t / 4, t % 4, feat_w, A, stride);
}

void make_anchors_cuda(const float* base_host, int A, int feat_h, int feat_w, int stride, float* out, const Device& dev,
                       Stream s) {
  if (A > kMaxBaseAnchors)
    throw std::invalid_argument("make_anchors (CUDA): at most " + std::to_string(kMaxBaseAnchors) +
                                " base anchors, got " + std::to_string(A));
  BaseTable t{};  // passed by value: no host-to-device copy to order
  for (int i = 0; i < 4 * A; ++i) t.v[i] = base_host[i];
  const int total = feat_h * feat_w * A * 4;
  cudaStream_t cs = cuda_stream(s);
  FRCNN_LAUNCH(make_anchors_kernel, grid_stride_blocks(total), kBlockThreads, 0, cs, t, A, feat_w, stride, total, out);
}

}  // namespace frcnn
