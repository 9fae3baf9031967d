// CUDA half of box_ops.h: one thread per output element; the maths is box_math.h.
#include "kernels/box_math.h"
#include "kernels/box_ops_cuda.h"
#include "kernels/cuda_util.cuh"

namespace frcnn {

using namespace cuda_detail;

// a: (n, 4), b: (m, 4) -> out: (n, m), one thread per pair
__global__ void box_iou_kernel(const float* __restrict__ a, int64_t n, const float* __restrict__ b, int64_t m,
                               float* __restrict__ out) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n * m; t += int64_t(gridDim.x) * blockDim.x) {
    int64_t i = t / m, j = t % m;
    out[t] = box_iou(a + 4 * i, b + 4 * j);
  }
}

void box_iou_cuda(const float* a, int64_t n, const float* b, int64_t m, float* out, Stream s) {
  cudaStream_t cs = cuda_stream(s);
  FRCNN_LAUNCH(box_iou_kernel, grid_stride_blocks(n * m), kBlockThreads, 0, cs, a, n, b, m, out);
}

__global__ void encode_boxes_kernel(const float* __restrict__ refs, const float* __restrict__ gts, int64_t n,
                                    BoxCoder c, float* __restrict__ out) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    encode_box(refs + 4 * i, gts + 4 * i, c, out + 4 * i);
}

void encode_boxes_cuda(const float* refs, const float* gts, int64_t n, const BoxCoder& c, float* out, Stream s) {
  cudaStream_t cs = cuda_stream(s);
  FRCNN_LAUNCH(encode_boxes_kernel, grid_stride_blocks(n), kBlockThreads, 0, cs, refs, gts, n, c, out);
}

// refs: (n, 4), deltas/out: (n, classes, 4), one thread per (box, class)
__global__ void decode_boxes_kernel(const float* __restrict__ refs, const float* __restrict__ deltas, int64_t n,
                                    int64_t classes, BoxCoder c, float* __restrict__ out) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n * classes;
       t += int64_t(gridDim.x) * blockDim.x)
    decode_box(refs + 4 * (t / classes), deltas + 4 * t, c, out + 4 * t);
}

void decode_boxes_cuda(const float* refs, const float* deltas, int64_t n, int64_t classes, const BoxCoder& c,
                       float* out, Stream s) {
  cudaStream_t cs = cuda_stream(s);
  FRCNN_LAUNCH(decode_boxes_kernel, grid_stride_blocks(n * classes), kBlockThreads, 0, cs, refs, deltas, n, classes, c,
               out);
}

__global__ void clip_boxes_kernel(const float* __restrict__ in, int64_t nboxes, float img_h, float img_w,
                                  float* __restrict__ out) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < nboxes; i += int64_t(gridDim.x) * blockDim.x) {
    float b[4] = {in[4 * i], in[4 * i + 1], in[4 * i + 2], in[4 * i + 3]};
    clip_box(b, img_h, img_w);
    for (int j = 0; j < 4; ++j) out[4 * i + j] = b[j];
  }
}

void clip_boxes_cuda(const float* in, int64_t nboxes, float img_h, float img_w, float* out, Stream s) {
  cudaStream_t cs = cuda_stream(s);
  FRCNN_LAUNCH(clip_boxes_kernel, grid_stride_blocks(nboxes), kBlockThreads, 0, cs, in, nboxes, img_h, img_w, out);
}

__global__ void min_size_flags_kernel(const float* __restrict__ boxes, int n, float min_size,
                                      uint8_t* __restrict__ flags) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    flags[i] = box_min_size_ok(boxes + 4 * i, min_size) ? 1 : 0;
}

Tensor min_size_keep_cuda(const Tensor& boxes, float min_size, Stream s) {
  const Device dev = boxes.device();
  int n = static_cast<int>(boxes.size(0));
  if (n == 0) return Tensor::empty({0}, DType::I32, dev, s);
  cudaStream_t cs = cuda_stream(s);
  Scratch<uint8_t> flags(n, dev, s);
  Scratch<int32_t> idx(n, dev, s);
  Scratch<int32_t> count(1, dev, s);
  FRCNN_LAUNCH(min_size_flags_kernel, grid_stride_blocks(n), kBlockThreads, 0, cs, boxes.data<float>(), n, min_size,
               flags.p);
  select_flagged_indices(flags.p, n, idx.p, count.p, dev, s);
  int32_t p = read_count(count.p, s);
  Tensor out = Tensor::empty({p}, DType::I32, dev, s);
  if (p > 0) CUDA_CHECK(cudaMemcpyAsync(out.raw_data(), idx.p, p * sizeof(int32_t), cudaMemcpyDeviceToDevice, cs));
  return out;
}

}  // namespace frcnn
