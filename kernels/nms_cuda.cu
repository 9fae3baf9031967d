// CUDA half of nms.h: stable radix sort by score, the 64-bit suppression mask, and the
// greedy scan over the mask on the device (see nms.h).
#include "kernels/box_math.h"
#include "kernels/cuda_util.cuh"
#include "kernels/nms_cuda.h"
#include "kernels/score_order.h"

namespace frcnn {

using namespace cuda_detail;

namespace {

constexpr int kNmsBlock = 64;  // boxes per mask word

// mask: (n_max, col_blocks) words; word (i, cb) bit b set when box i suppresses box
// cb*64 + b (a later box: j > i). Block (x = column block, y = row block), 64 threads.
__global__ void nms_mask_kernel(const float* __restrict__ boxes, const int32_t* __restrict__ classes, int n_max,
                                const int32_t* __restrict__ n_dev, float thresh, int col_blocks,
                                unsigned long long* __restrict__ mask) {
  const int n = n_dev ? *n_dev : n_max;
  const int row_blk = blockIdx.y, col_blk = blockIdx.x;
  if (row_blk > col_blk) return;
  const int row_size = min(n - row_blk * kNmsBlock, kNmsBlock);
  const int col_size = min(n - col_blk * kNmsBlock, kNmsBlock);
  if (row_size <= 0 || col_size <= 0) return;
  FRCNN_SHARED(float, sb, [kNmsBlock * 4]);
  FRCNN_SHARED(int32_t, sc, [kNmsBlock]);
  const int t = threadIdx.x;
  if (t < col_size) {
    const int j = col_blk * kNmsBlock + t;
    for (int k = 0; k < 4; ++k) sb[4 * t + k] = boxes[4 * j + k];
    sc[t] = classes ? classes[j] : 0;
  }
  __syncthreads();
  if (t < row_size) {
    const int i = row_blk * kNmsBlock + t;
    const float b[4] = {boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]};
    const int32_t ci = classes ? classes[i] : 0;
    unsigned long long bits = 0;
    for (int j = (row_blk == col_blk) ? t + 1 : 0; j < col_size; ++j)
      if (sc[j] == ci && box_iou(b, sb + 4 * j) > thresh) bits |= 1ULL << j;
    mask[static_cast<int64_t>(i) * col_blocks + col_blk] = bits;
  }
}

// The greedy pass, one block. removed: a bit per box (shared); per 64-box block, thread
// 0 walks the 64 boxes serially using their diagonal words (staged in shared memory),
// then all threads OR the rows of the boxes just kept into the later words.
__global__ void nms_scan_kernel(const unsigned long long* __restrict__ mask, int n_max,
                                const int32_t* __restrict__ n_dev, int col_blocks, int max_keep,
                                int32_t* __restrict__ keep_out, int32_t* __restrict__ count_out) {
  unsigned long long* removed = dynamic_shared<unsigned long long>();  // (col_blocks)
  FRCNN_SHARED(unsigned long long, diag, [kNmsBlock]);
  FRCNN_SHARED(int32_t, kept_blk, [kNmsBlock]);
  FRCNN_SHARED(int, n_kept_blk, );
  FRCNN_SHARED(int, total, );
  FRCNN_SHARED(int, stop, );
  const int n = n_dev ? *n_dev : n_max;
  const int nblk = (n + kNmsBlock - 1) / kNmsBlock;
  for (int w = threadIdx.x; w < nblk; w += blockDim.x) removed[w] = 0;
  if (threadIdx.x == 0) {
    total = 0;
    stop = 0;
  }
  __syncthreads();
  for (int blk = 0; blk < nblk; ++blk) {
    const int size = min(kNmsBlock, n - blk * kNmsBlock);
    if (threadIdx.x < size)
      diag[threadIdx.x] = mask[static_cast<int64_t>(blk * kNmsBlock + threadIdx.x) * col_blocks + blk];
    __syncthreads();
    if (threadIdx.x == 0) {
      unsigned long long word = removed[blk];
      int cnt = 0;
      for (int b = 0; b < size; ++b) {
        if ((word >> b) & 1ULL) continue;
        const int i = blk * kNmsBlock + b;
        kept_blk[cnt++] = i;
        keep_out[total++] = i;
        word |= diag[b];
        if (max_keep > 0 && total >= max_keep) {
          stop = 1;
          break;
        }
      }
      n_kept_blk = cnt;
    }
    __syncthreads();
    if (stop) break;
    for (int w = blk + 1 + threadIdx.x; w < nblk; w += blockDim.x) {
      unsigned long long acc = removed[w];
      for (int k = 0; k < n_kept_blk; ++k) acc |= mask[static_cast<int64_t>(kept_blk[k]) * col_blocks + w];
      removed[w] = acc;
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) *count_out = total;
}

// keys[i] = the radix key of scores[i] (kernels/score_order.h); vals[i] = i.
__global__ void sort_keys_kernel(const float* __restrict__ scores, int n, float* __restrict__ keys,
                                 int32_t* __restrict__ vals) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    keys[i] = score_sort_key(scores[i]);
    vals[i] = i;
  }
}

// sorted_boxes[i] = boxes[order[i]], sorted_cls[i] = classes[order[i]]
__global__ void gather_sorted_kernel(const float* __restrict__ boxes, const int32_t* __restrict__ classes,
                                     const int32_t* __restrict__ order, int n, float* __restrict__ sorted_boxes,
                                     int32_t* __restrict__ sorted_cls) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    const int o = order[i];
    for (int k = 0; k < 4; ++k) sorted_boxes[4 * i + k] = boxes[4 * o + k];
    if (classes) sorted_cls[i] = classes[o];
  }
}

// out[i] = order[keep[i]]
__global__ void compose_kernel(const int32_t* __restrict__ order, const int32_t* __restrict__ keep, int n,
                               int32_t* __restrict__ out) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) out[i] = order[keep[i]];
}

}  // namespace

namespace nms_detail {

void nms_sorted_cuda(const float* boxes, const int32_t* classes, int n_max, const int32_t* n_dev, double iou_thresh,
                     int max_keep, int32_t* keep_out, int32_t* count_out, const Device& dev, Stream stream) {
  const float thresh = nms_float_threshold(iou_thresh);  // float iou > thresh <=> double(iou) > iou_thresh
  cudaStream_t s = cuda_stream(stream);
  if (n_max <= 0) {
    CUDA_CHECK(cudaMemsetAsync(count_out, 0, sizeof(int32_t), s));
    return;
  }
  const int col_blocks = (n_max + kNmsBlock - 1) / kNmsBlock;
  const size_t shmem = static_cast<size_t>(col_blocks) * sizeof(unsigned long long);
  if (shmem > 40 * 1024)
    throw std::invalid_argument("nms (CUDA): " + std::to_string(n_max) +
                                " boxes exceed the greedy scan's shared-memory bitmap (at most 327680)");
  Scratch<unsigned long long> mask(static_cast<int64_t>(n_max) * col_blocks, dev, stream);
  dim3 grid(col_blocks, col_blocks);
  FRCNN_LAUNCH(nms_mask_kernel, grid, kNmsBlock, 0, s, boxes, classes, n_max, n_dev, thresh, col_blocks, mask.p);
  FRCNN_LAUNCH(nms_scan_kernel, 1, 256, shmem, s, mask.p, n_max, n_dev, col_blocks, max_keep, keep_out, count_out);
}

}  // namespace nms_detail

// boxes: (n, 4), scores: (n), classes: (n) I32 or undefined -> kept indices (P) I32
Tensor nms_cuda(const Tensor& boxes, const Tensor& scores, const Tensor& classes, double iou_thresh, int max_keep,
                Stream stream) {
  const Device dev = boxes.device();
  const int n = static_cast<int>(boxes.size(0));
  if (n == 0) return Tensor::empty({0}, DType::I32, dev, stream);
  cudaStream_t s = cuda_stream(stream);
  Scratch<float> keys(n, dev, stream), keys_sorted(n, dev, stream), sboxes(4 * int64_t(n), dev, stream);
  Scratch<int32_t> vals(n, dev, stream), order(n, dev, stream), scls(n, dev, stream), keep(n, dev, stream),
      count(1, dev, stream);
  FRCNN_LAUNCH(sort_keys_kernel, grid_stride_blocks(n), kBlockThreads, 0, s, scores.data<float>(), n, keys.p, vals.p);
  sort_pairs_descending(keys.p, keys_sorted.p, vals.p, order.p, n, dev, stream);
  const int32_t* cls = classes.defined() ? classes.data<int32_t>() : nullptr;
  FRCNN_LAUNCH(gather_sorted_kernel, grid_stride_blocks(n), kBlockThreads, 0, s, boxes.data<float>(), cls, order.p, n,
               sboxes.p, scls.p);
  nms_detail::nms_sorted_cuda(sboxes.p, cls ? scls.p : nullptr, n, nullptr, iou_thresh, max_keep, keep.p, count.p, dev,
                              stream);
  const int32_t p = read_count(count.p, stream);
  Tensor out = Tensor::empty({p}, DType::I32, dev, stream);
  if (p > 0) {
    FRCNN_LAUNCH(compose_kernel, grid_stride_blocks(p), kBlockThreads, 0, s, order.p, keep.p, p, out.data<int32_t>());
  }
  return out;
}

namespace {

// Candidates c = r*K + (k-1) of the valid rows r < *rows (R when rows is null) with
// probs[r, k] > thresh get their score's radix key, the others the dropped key (sorted
// after every candidate); vals[c] = c; *n_cand += candidates. probs: (R, K+1)
__global__ void detect_keys_kernel(const float* __restrict__ probs, int R, int K, const int32_t* __restrict__ rows,
                                   float thresh, float* __restrict__ keys, int32_t* __restrict__ vals,
                                   int32_t* __restrict__ n_cand) {
  const int valid_rows = rows ? min(*rows, R) : R;
  for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < R * K; c += gridDim.x * blockDim.x) {
    const int r = c / K, k = c % K + 1;
    const float p = probs[r * (K + 1) + k];
    const bool cand = r < valid_rows && p > thresh;
    keys[c] = cand ? score_sort_key(p) : dropped_sort_key();
    vals[c] = c;
    if (cand) atomicAdd(n_cand, 1);
  }
}

// Sorted candidate i (order[i] = c) -> its class box cb (n, 4) and class cl (n). boxes: (R, 4*(K+1))
__global__ void detect_gather_kernel(const float* __restrict__ boxes, const int32_t* __restrict__ order, int n, int K,
                                     float* __restrict__ cb, int32_t* __restrict__ cl) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    const int c = order[i], r = c / K, k = c % K + 1;
    for (int j = 0; j < 4; ++j) cb[4 * i + j] = boxes[(static_cast<int64_t>(r) * (K + 1) + k) * 4 + j];
    cl[i] = k;
  }
}

// Detections i < D = *n_kept: box (times *box_scale when given), score, label; rows up to
// cap: zero. Thread 0 writes D and the valid row count.
__global__ void detect_output_kernel(const int32_t* __restrict__ keep, const int32_t* __restrict__ n_kept, int cap,
                                     const int32_t* __restrict__ order, const float* __restrict__ cb,
                                     const int32_t* __restrict__ cl, const float* __restrict__ probs, int R, int K,
                                     const int32_t* __restrict__ rows, const float* __restrict__ box_scale,
                                     float* __restrict__ ob, float* __restrict__ os, int32_t* __restrict__ ol,
                                     int32_t* __restrict__ out_count, int32_t* __restrict__ out_rows) {
  const int D = *n_kept;
  const float s = box_scale ? *box_scale : 1.f;
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t == 0) {
    *out_count = D;
    if (out_rows) *out_rows = rows ? min(*rows, R) : R;
  }
  for (int i = t; i < cap; i += gridDim.x * blockDim.x) {
    if (i < D) {
      const int k = keep[i], c = order[k];
      for (int j = 0; j < 4; ++j) ob[4 * i + j] = scale_box_coord(cb[4 * k + j], s);
      os[i] = probs[(c / K) * (K + 1) + c % K + 1];
      ol[i] = cl[k];
    } else {
      for (int j = 0; j < 4; ++j) ob[4 * i + j] = 0.f;
      os[i] = 0.f;
      ol[i] = 0;
    }
  }
}

}  // namespace

void detect_per_class_into_cuda(const float* boxes, const float* probs, int R, int K, const int32_t* rows_dev,
                                const float* box_scale_dev, const DetectConfig& cfg, int cap, float* out_boxes,
                                float* out_scores, int32_t* out_labels, int32_t* out_count, int32_t* out_rows,
                                const Device& dev, Stream stream) {
  cudaStream_t s = cuda_stream(stream);
  const int nc = R * K;
  // Every (row, class) is sorted, the non-candidates last: the candidates then come in
  // (score desc, c asc) order, as the compacted list's stable sort gave them.
  Scratch<float> keys(nc, dev, stream), keys_sorted(nc, dev, stream), cb(4 * int64_t(nc), dev, stream);
  Scratch<int32_t> vals(nc, dev, stream), order(nc, dev, stream), cl(nc, dev, stream), keep(nc, dev, stream),
      counts(2, dev, stream);
  int32_t* n_cand = counts.p;
  int32_t* n_kept = counts.p + 1;
  CUDA_CHECK(cudaMemsetAsync(counts.p, 0, 2 * sizeof(int32_t), s));
  if (nc > 0) {
    FRCNN_LAUNCH(detect_keys_kernel, grid_stride_blocks(nc), kBlockThreads, 0, s, probs, R, K, rows_dev,
                 cfg.score_thresh, keys.p, vals.p, n_cand);
    sort_pairs_descending(keys.p, keys_sorted.p, vals.p, order.p, nc, dev, stream);
    FRCNN_LAUNCH(detect_gather_kernel, grid_stride_blocks(nc), kBlockThreads, 0, s, boxes, order.p, nc, K, cb.p, cl.p);
    nms_detail::nms_sorted_cuda(cb.p, cl.p, nc, n_cand, cfg.nms_thresh, cfg.max_per_image, keep.p, n_kept, dev,
                                stream);
  }
  FRCNN_LAUNCH(detect_output_kernel, grid_stride_blocks(cap), kBlockThreads, 0, s, keep.p, n_kept, cap, order.p, cb.p,
               cl.p, probs, R, K, rows_dev, box_scale_dev, out_boxes, out_scores, out_labels, out_count, out_rows);
}

Detections detect_per_class_cuda(const Tensor& boxes, const Tensor& probs, const DetectConfig& cfg, Stream stream) {
  const Device dev = boxes.device();
  const int R = static_cast<int>(probs.size(0)), K = static_cast<int>(probs.size(1)) - 1;
  const int cap = static_cast<int>(detection_capacity(R, K, cfg));
  Detections out{Tensor::empty({cap, 4}, DType::F32, dev, stream), Tensor::empty({cap}, DType::F32, dev, stream),
                 Tensor::empty({cap}, DType::I32, dev, stream)};
  Scratch<int32_t> count(1, dev, stream);
  detect_per_class_into_cuda(boxes.data<float>(), probs.data<float>(), R, K, nullptr, nullptr, cfg, cap,
                             out.boxes.data<float>(), out.scores.data<float>(), out.labels.data<int32_t>(), count.p,
                             nullptr, dev, stream);
  const int d = read_count(count.p, stream);
  return {out.boxes.slice(0, d), out.scores.slice(0, d), out.labels.slice(0, d)};
}

}  // namespace frcnn
