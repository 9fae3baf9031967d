// CUDA half of proposals.h: decode + filter kernel, stable radix sort, on-device NMS into
// fixed-capacity outputs (proposal_layer_fixed), and proposal_layer's one read-back of the
// count on top of it.
#include <cfloat>

#include "kernels/cuda_util.cuh"
#include "kernels/nms_cuda.h"
#include "kernels/proposals_cuda.h"
#include "kernels/score_order.h"

namespace frcnn {

using namespace cuda_detail;

namespace {

// boxes: (K, 4); keys: the score's radix key, or the dropped key when filtered out
// (kernels/score_order.h); vals: anchor index; *n_valid += number passing (integer
// atomics: exact). The min-size filter is min_size * *scale (scale on the device) or
// min_size when scale is null: the same float product the host would form.
__global__ void proposal_decode_kernel(const float* __restrict__ scores, const float* __restrict__ deltas,
                                       const float* __restrict__ anchors, int A, int HW, float img_h, float img_w,
                                       float min_size, const float* __restrict__ scale, float* __restrict__ boxes,
                                       float* __restrict__ keys, int32_t* __restrict__ vals,
                                       int32_t* __restrict__ n_valid) {
  const int K = A * HW;
  if (scale) min_size = min_size * *scale;
  for (int k = blockIdx.x * blockDim.x + threadIdx.x; k < K; k += gridDim.x * blockDim.x) {
    float b[4];
    const bool ok = proposal_box(deltas, anchors, k, A, HW, img_h, img_w, min_size, b);
    for (int j = 0; j < 4; ++j) boxes[4 * k + j] = b[j];
    keys[k] = ok ? score_sort_key(scores[(k % A) * HW + k / A]) : dropped_sort_key();
    vals[k] = k;
    if (ok) atomicAdd(n_valid, 1);
  }
}

// sorted[i] = boxes[order[i]] for i < n_max; *n_nms = min(*n_valid, n_max)
__global__ void proposal_gather_kernel(const float* __restrict__ boxes, const int32_t* __restrict__ order, int n_max,
                                       const int32_t* __restrict__ n_valid, float* __restrict__ sorted,
                                       int32_t* __restrict__ n_nms) {
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t == 0) *n_nms = min(*n_valid, n_max);
  for (int i = t; i < n_max; i += gridDim.x * blockDim.x)
    for (int j = 0; j < 4; ++j) sorted[4 * i + j] = boxes[4 * order[i] + j];
}

// Rows i < *n_kept: the kept boxes and scores; rows up to cap: zero; *out_count = *n_kept.
__global__ void proposal_output_kernel(const int32_t* __restrict__ keep, const int32_t* __restrict__ n_kept, int cap,
                                       const float* __restrict__ sorted, const float* __restrict__ sorted_keys,
                                       float* __restrict__ out_boxes, float* __restrict__ out_scores,
                                       int32_t* __restrict__ out_count) {
  const int P = *n_kept;
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t == 0) *out_count = P;
  for (int i = t; i < cap; i += gridDim.x * blockDim.x) {
    const bool kept = i < P;
    const int k = kept ? keep[i] : 0;
    for (int j = 0; j < 4; ++j) out_boxes[4 * i + j] = kept ? sorted[4 * k + j] : 0.f;
    out_scores[i] = kept ? sorted_keys[k] : 0.f;
  }
}

}  // namespace

void proposal_layer_into_cuda(const float* scores, const float* deltas, const float* anchors, int A, int HW,
                              float img_h, float img_w, float min_size, const float* scale_dev,
                              const ProposalConfig& cfg, int cap, float* out_boxes, float* out_scores,
                              int32_t* out_count, const Device& dev, Stream stream) {
  cudaStream_t s = cuda_stream(stream);
  const int K = A * HW;
  if (K == 0) {
    CUDA_CHECK(cudaMemsetAsync(out_count, 0, sizeof(int32_t), s));
    return;
  }
  Scratch<float> boxes(4 * int64_t(K), dev, stream), keys(K, dev, stream), keys_sorted(K, dev, stream);
  Scratch<int32_t> vals(K, dev, stream), order(K, dev, stream), counts(3, dev, stream);
  int32_t* n_valid = counts.p;
  int32_t* n_nms = counts.p + 1;
  int32_t* n_kept = counts.p + 2;
  CUDA_CHECK(cudaMemsetAsync(n_valid, 0, sizeof(int32_t), s));
  FRCNN_LAUNCH(proposal_decode_kernel, grid_stride_blocks(K), kBlockThreads, 0, s, scores, deltas, anchors, A, HW,
               img_h, img_w, min_size, scale_dev, boxes.p, keys.p, vals.p, n_valid);
  sort_pairs_descending(keys.p, keys_sorted.p, vals.p, order.p, K, dev, stream);
  const int n_max = cfg.pre_nms_top_n > 0 ? std::min(K, cfg.pre_nms_top_n) : K;
  Scratch<float> sorted(4 * int64_t(n_max), dev, stream);
  Scratch<int32_t> keep(n_max, dev, stream);
  FRCNN_LAUNCH(proposal_gather_kernel, grid_stride_blocks(n_max), kBlockThreads, 0, s, boxes.p, order.p, n_max, n_valid,
               sorted.p, n_nms);
  nms_detail::nms_sorted_cuda(sorted.p, nullptr, n_max, n_nms, cfg.nms_thresh, cfg.post_nms_top_n, keep.p, n_kept, dev,
                              stream);
  FRCNN_LAUNCH(proposal_output_kernel, grid_stride_blocks(cap), kBlockThreads, 0, s, keep.p, n_kept, cap, sorted.p,
               keys_sorted.p, out_boxes, out_scores, out_count);
}

Proposals proposal_layer_cuda(const float* scores, const float* deltas, const float* anchors, int A, int HW,
                              float img_h, float img_w, float min_size, const ProposalConfig& cfg, const Device& dev,
                              Stream stream) {
  const int cap = static_cast<int>(proposal_capacity(int64_t(A) * HW, cfg));
  Tensor boxes = Tensor::empty({cap, 4}, DType::F32, dev, stream), sc = Tensor::empty({cap}, DType::F32, dev, stream);
  Scratch<int32_t> count(1, dev, stream);
  proposal_layer_into_cuda(scores, deltas, anchors, A, HW, img_h, img_w, min_size, nullptr, cfg, cap,
                           boxes.data<float>(), sc.data<float>(), count.p, dev, stream);
  const int P = read_count(count.p, stream);
  return {boxes.slice(0, P), sc.slice(0, P)};
}

}  // namespace frcnn
