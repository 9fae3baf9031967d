// CUDA half of proposal_targets.h: per-candidate overlaps and keys, CUB sort, one
// read-back of the counts, per-row outputs.
#include <cmath>

#include "kernels/cuda_util.cuh"
#include "kernels/proposal_targets_cuda.h"
#include "kernels/sampling.h"

namespace frcnn {

using namespace cuda_detail;

namespace {

__device__ __forceinline__ const float* candidate(const float* props, int P, const float* gt, int m) {
  return m < P ? props + 4 * m : gt + 4 * (m - P);
}

// per candidate m: arg[m], keys[m]; counts[0] = #fg, counts[1] = #bg
__global__ void roi_overlap_kernel(const float* __restrict__ props, int P, const float* __restrict__ gt, int G,
                                   float fg_thresh, float bg_lo, float bg_hi, uint64_t seed, uint64_t stream,
                                   int32_t* __restrict__ arg, unsigned long long* __restrict__ keys,
                                   int32_t* __restrict__ counts) {
  const int M = P + G;
  for (int m = blockIdx.x * blockDim.x + threadIdx.x; m < M; m += gridDim.x * blockDim.x) {
    const float* b = candidate(props, P, gt, m);
    float best = 0.f;
    int32_t a = -1;
    for (int g = 0; g < G; ++g) {
      const float iou = box_iou(b, gt + 4 * g);
      if (a < 0 || iou > best) best = iou, a = g;
    }
    uint32_t grp = kSampleNone;
    if (best >= fg_thresh)
      grp = kSampleFg;
    else if (best >= bg_lo && best < bg_hi)
      grp = kSampleBg;
    arg[m] = a;
    keys[m] = sample_key(grp, seed, stream, uint32_t(m));
    if (grp == kSampleFg) atomicAdd(&counts[0], 1);
    if (grp == kSampleBg) atomicAdd(&counts[1], 1);
  }
}

// one thread per output row; targets and weights are pre-zeroed. (R, 4*(K+1))
__global__ void roi_rows_kernel(const unsigned long long* __restrict__ sorted, int R, int keep_fg, int n_fg,
                                const float* __restrict__ props, int P, const float* __restrict__ gt,
                                const int32_t* __restrict__ gt_labels, const int32_t* __restrict__ arg, int num_classes,
                                BoxCoder coder, float* __restrict__ rois, int32_t* __restrict__ labels,
                                float* __restrict__ targets, float* __restrict__ weights) {
  const int C4 = 4 * num_classes;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < R; i += gridDim.x * blockDim.x) {
    const int pos = i < keep_fg ? i : n_fg + (i - keep_fg);
    const int m = int(sample_index(sorted[pos]));
    const float* b = candidate(props, P, gt, m);
    for (int j = 0; j < 4; ++j) rois[4 * i + j] = b[j];
    const int32_t label = i < keep_fg ? gt_labels[arg[m]] : 0;
    labels[i] = label;
    if (label > 0) {
      encode_box(b, gt + 4 * arg[m], coder, targets + int64_t(i) * C4 + 4 * label);
      for (int j = 0; j < 4; ++j) weights[int64_t(i) * C4 + 4 * label + j] = 1.f;
    }
  }
}

}  // namespace

ProposalTargets proposal_targets_cuda(const float* props, int P, const float* gt, const int32_t* gt_labels, int G,
                                      int num_classes, const ProposalTargetConfig& cfg, RngKey key, const Device& dev,
                                      Stream stream) {
  cudaStream_t s = cuda_stream(stream);
  const int M = P + G;
  Scratch<int32_t> arg(M, dev, stream), counts(2, dev, stream);
  Scratch<unsigned long long> keys(M, dev, stream), sorted(M, dev, stream);
  CUDA_CHECK(cudaMemsetAsync(counts.p, 0, 2 * sizeof(int32_t), s));
  if (M > 0) {
    FRCNN_LAUNCH(roi_overlap_kernel, grid_stride_blocks(M), kBlockThreads, 0, s, props, P, gt, G, cfg.fg_thresh,
                 cfg.bg_lo, cfg.bg_hi, key.seed, key.stream, arg.p, keys.p, counts.p);
    sort_keys_ascending(keys.p, sorted.p, M, dev, stream);
  }
  int32_t h_counts[2] = {0, 0};
  CUDA_CHECK(cudaMemcpyAsync(h_counts, counts.p, sizeof(h_counts), cudaMemcpyDeviceToHost, s));
  CUDA_CHECK(cudaStreamSynchronize(s));
  const int n_fg = h_counts[0], n_bg = h_counts[1];
  const int keep_fg = std::min(n_fg, static_cast<int>(std::nearbyint(cfg.fg_fraction * cfg.batch)));
  const int keep_bg = std::max(0, std::min(n_bg, cfg.batch - keep_fg));
  const int R = keep_fg + keep_bg, C4 = 4 * num_classes;
  ProposalTargets t{Tensor::empty({R, 4}, DType::F32, dev, stream), Tensor::empty({R}, DType::I32, dev, stream),
                    Tensor::zeros({R, C4}, DType::F32, dev, stream), Tensor::zeros({R, C4}, DType::F32, dev, stream)};
  if (R > 0) {
    FRCNN_LAUNCH(roi_rows_kernel, grid_stride_blocks(R), kBlockThreads, 0, s, sorted.p, R, keep_fg, n_fg, props, P, gt,
                 gt_labels, arg.p, num_classes, cfg.coder, t.rois.data<float>(), t.labels.data<int32_t>(),
                 t.bbox_targets.data<float>(), t.bbox_inside_weights.data<float>());
  }
  return t;
}

}  // namespace frcnn
