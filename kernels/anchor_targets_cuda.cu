// CUDA half of anchor_targets.h: per-GT max (block reduction), per-anchor labels,
// CUB sort of the sampling keys, per-anchor outputs. Counts stay on the device.
#include "kernels/anchor_targets_cuda.h"
#include "kernels/box_math.h"
#include "kernels/cuda_util.cuh"
#include "kernels/sampling.h"

namespace frcnn {

using namespace cuda_detail;

namespace {

__device__ __forceinline__ bool anchor_inside(const float* a, float img_h, float img_w, float b) {
  return a[0] >= -b && a[1] >= -b && a[2] <= img_w + b && a[3] <= img_h + b;
}

// gt_max[g] = max IoU of GT g over inside anchors (0 when none); one block per GT.
// fmaxf is order independent, so the result is exact and deterministic.
__global__ void gt_max_kernel(const float* __restrict__ anchors, int K, const float* __restrict__ gt, float img_h,
                              float img_w, float border, float* __restrict__ gt_max) {
  FRCNN_SHARED(float, red, [kBlockThreads]);
  const int g = blockIdx.x;
  const float box[4] = {gt[4 * g], gt[4 * g + 1], gt[4 * g + 2], gt[4 * g + 3]};
  float m = 0.f;
  for (int k = threadIdx.x; k < K; k += blockDim.x)
    if (anchor_inside(anchors + 4 * k, img_h, img_w, border)) m = fmaxf(m, box_iou(anchors + 4 * k, box));
  red[threadIdx.x] = m;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) red[threadIdx.x] = fmaxf(red[threadIdx.x], red[threadIdx.x + s]);
    __syncthreads();
  }
  if (threadIdx.x == 0) gt_max[g] = red[0];
}

// labels before sampling, argmax GT, sampling keys, counts[0] = #fg, counts[1] = #bg.
__global__ void anchor_label_kernel(const float* __restrict__ anchors, int K, const float* __restrict__ gt, int G,
                                    const float* __restrict__ gt_max, float img_h, float img_w, AnchorTargetConfig cfg,
                                    uint64_t seed, uint64_t stream, int32_t* __restrict__ labels,
                                    int32_t* __restrict__ arg, unsigned long long* __restrict__ keys,
                                    int32_t* __restrict__ counts) {
  for (int k = blockIdx.x * blockDim.x + threadIdx.x; k < K; k += gridDim.x * blockDim.x) {
    const float* a = anchors + 4 * k;
    int32_t l = -1, best_g = -1;
    if (anchor_inside(a, img_h, img_w, cfg.allowed_border)) {
      float best = 0.f;
      bool forced = false;
      for (int g = 0; g < G; ++g) {
        const float iou = box_iou(a, gt + 4 * g);
        if (best_g < 0 || iou > best) {
          best = iou;
          best_g = g;
        }
        if (gt_max[g] > 0.f && iou == gt_max[g]) forced = true;
      }
      if (best < cfg.neg_iou) l = 0;
      if (forced || best >= cfg.pos_iou) l = 1;
    }
    labels[k] = l;
    arg[k] = best_g;
    keys[k] = sample_key(l == 1 ? kSampleFg : l == 0 ? kSampleBg : kSampleNone, seed, stream, uint32_t(k));
    if (l == 1) atomicAdd(&counts[0], 1);
    if (l == 0) atomicAdd(&counts[1], 1);
  }
}

// Drops the candidates beyond the sample sizes; sorted: (K) ascending keys.
__global__ void anchor_sample_kernel(const unsigned long long* __restrict__ sorted, int K,
                                     const int32_t* __restrict__ counts, int max_fg, int batch,
                                     int32_t* __restrict__ labels) {
  const int n_fg = counts[0], n_bg = counts[1];
  const int keep_fg = min(n_fg, max_fg), keep_bg = min(n_bg, batch - keep_fg);
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < K; i += gridDim.x * blockDim.x) {
    const uint32_t grp = sample_group(sorted[i]), k = sample_index(sorted[i]);
    if (grp == kSampleFg && i >= keep_fg) labels[k] = -1;
    if (grp == kSampleBg && i - n_fg >= keep_bg) labels[k] = -1;
  }
}

__global__ void anchor_outputs_kernel(const float* __restrict__ anchors, int K, const float* __restrict__ gt,
                                      const int32_t* __restrict__ labels, const int32_t* __restrict__ arg,
                                      const int32_t* __restrict__ counts, int max_fg, int batch,
                                      float* __restrict__ targets, float* __restrict__ inside_w,
                                      float* __restrict__ outside_w) {
  const int keep_fg = min(counts[0], max_fg), keep_bg = min(counts[1], batch - keep_fg);
  const float w = keep_fg + keep_bg > 0 ? 1.f / float(keep_fg + keep_bg) : 0.f;
  for (int k = blockIdx.x * blockDim.x + threadIdx.x; k < K; k += gridDim.x * blockDim.x) {
    const int32_t l = labels[k];
    if (l == 1) {
      encode_box(anchors + 4 * k, gt + 4 * arg[k], BoxCoder{}, targets + 4 * k);
      for (int j = 0; j < 4; ++j) inside_w[4 * k + j] = 1.f;
    }
    if (l >= 0)
      for (int j = 0; j < 4; ++j) outside_w[4 * k + j] = w;
  }
}

}  // namespace

void anchor_targets_cuda(const float* anchors, int K, const float* gt, int G, float img_h, float img_w,
                         const AnchorTargetConfig& cfg, RngKey key, int32_t* labels, float* targets, float* inside_w,
                         float* outside_w, const Device& dev, Stream stream) {
  cudaStream_t s = cuda_stream(stream);
  Scratch<float> gt_max(G, dev, stream);
  Scratch<int32_t> arg(K, dev, stream), counts(2, dev, stream);
  Scratch<unsigned long long> keys(K, dev, stream), sorted(K, dev, stream);
  CUDA_CHECK(cudaMemsetAsync(counts.p, 0, 2 * sizeof(int32_t), s));
  if (G > 0) {
    FRCNN_LAUNCH(gt_max_kernel, G, kBlockThreads, 0, s, anchors, K, gt, img_h, img_w, cfg.allowed_border, gt_max.p);
  }
  FRCNN_LAUNCH(anchor_label_kernel, grid_stride_blocks(K), kBlockThreads, 0, s, anchors, K, gt, G, gt_max.p, img_h,
               img_w, cfg, key.seed, key.stream, labels, arg.p, keys.p, counts.p);
  sort_keys_ascending(keys.p, sorted.p, K, dev, stream);
  const int max_fg = static_cast<int>(cfg.fg_fraction * cfg.batch);
  FRCNN_LAUNCH(anchor_sample_kernel, grid_stride_blocks(K), kBlockThreads, 0, s, sorted.p, K, counts.p, max_fg,
               cfg.batch, labels);
  FRCNN_LAUNCH(anchor_outputs_kernel, grid_stride_blocks(K), kBlockThreads, 0, s, anchors, K, gt, labels, arg.p,
               counts.p, max_fg, cfg.batch, targets, inside_w, outside_w);
}

}  // namespace frcnn
