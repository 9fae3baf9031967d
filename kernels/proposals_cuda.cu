// CUDA half of proposals.h: decode + filter kernel, stable radix sort, on-device NMS,
// one read-back of the final count.
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
// atomics: exact).
__global__ void proposal_decode_kernel(const float* __restrict__ scores, const float* __restrict__ deltas,
                                       const float* __restrict__ anchors, int A, int HW, float img_h, float img_w,
                                       float min_size, float* __restrict__ boxes, float* __restrict__ keys,
                                       int32_t* __restrict__ vals, int32_t* __restrict__ n_valid) {
  const int K = A * HW;
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

__global__ void proposal_output_kernel(const int32_t* __restrict__ keep, int P, const float* __restrict__ sorted,
                                       const float* __restrict__ sorted_keys, float* __restrict__ out_boxes,
                                       float* __restrict__ out_scores) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < P; i += gridDim.x * blockDim.x) {
    const int k = keep[i];
    for (int j = 0; j < 4; ++j) out_boxes[4 * i + j] = sorted[4 * k + j];
    out_scores[i] = sorted_keys[k];
  }
}

}  // namespace

Proposals proposal_layer_cuda(const float* scores, const float* deltas, const float* anchors, int A, int HW,
                              float img_h, float img_w, float min_size, const ProposalConfig& cfg, const Device& dev,
                              Stream stream) {
  cudaStream_t s = cuda_stream(stream);
  const int K = A * HW;
  if (K == 0) return {Tensor::empty({0, 4}, DType::F32, dev, stream), Tensor::empty({0}, DType::F32, dev, stream)};
  Scratch<float> boxes(4 * int64_t(K), dev, stream), keys(K, dev, stream), keys_sorted(K, dev, stream);
  Scratch<int32_t> vals(K, dev, stream), order(K, dev, stream), counts(3, dev, stream);
  int32_t* n_valid = counts.p;
  int32_t* n_nms = counts.p + 1;
  int32_t* n_kept = counts.p + 2;
  CUDA_CHECK(cudaMemsetAsync(n_valid, 0, sizeof(int32_t), s));
  FRCNN_LAUNCH(proposal_decode_kernel, grid_stride_blocks(K), kBlockThreads, 0, s, scores, deltas, anchors, A, HW,
               img_h, img_w, min_size, boxes.p, keys.p, vals.p, n_valid);
  sort_pairs_descending(keys.p, keys_sorted.p, vals.p, order.p, K, dev, stream);
  const int n_max = cfg.pre_nms_top_n > 0 ? std::min(K, cfg.pre_nms_top_n) : K;
  Scratch<float> sorted(4 * int64_t(n_max), dev, stream);
  Scratch<int32_t> keep(n_max, dev, stream);
  FRCNN_LAUNCH(proposal_gather_kernel, grid_stride_blocks(n_max), kBlockThreads, 0, s, boxes.p, order.p, n_max, n_valid,
               sorted.p, n_nms);
  nms_detail::nms_sorted_cuda(sorted.p, nullptr, n_max, n_nms, cfg.nms_thresh, cfg.post_nms_top_n, keep.p, n_kept, dev,
                              stream);
  const int P = read_count(n_kept, stream);
  Proposals out{Tensor::empty({P, 4}, DType::F32, dev, stream), Tensor::empty({P}, DType::F32, dev, stream)};
  if (P > 0) {
    FRCNN_LAUNCH(proposal_output_kernel, grid_stride_blocks(P), kBlockThreads, 0, s, keep.p, P, sorted.p, keys_sorted.p,
                 out.boxes.data<float>(), out.scores.data<float>());
  }
  return out;
}

}  // namespace frcnn
