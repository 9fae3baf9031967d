// CUDA losses. Reductions are deterministic: per-element/row terms go to a scratch
// buffer, one block of 1024 threads sums it in a fixed order.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/cuda_util.cuh"
#include "kernels/losses_cuda.h"
#include "kernels/losses_math.h"

namespace frcnn {

namespace {

constexpr int kReduceThreads = 1024;

int current_cuda_device_for_losses() {
  int d = 0;
  CUDA_CHECK(cudaGetDevice(&d));
  return d;
}

// Sums `a` (n) into out[0] and, when b != null, `b` (n) into out[1]; one block only.
__global__ void sum_reduce_kernel(const float* __restrict__ a, const float* __restrict__ b, int64_t n, float* out) {
  FRCNN_SHARED(float, sa, [kReduceThreads]);
  FRCNN_SHARED(float, sb, [kReduceThreads]);
  float ta = 0.f, tb = 0.f;
  for (int64_t i = threadIdx.x; i < n; i += kReduceThreads) {
    ta += a[i];
    if (b) tb += b[i];
  }
  sa[threadIdx.x] = ta;
  sb[threadIdx.x] = tb;
  __syncthreads();
  for (int s = kReduceThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) {
      sa[threadIdx.x] += sa[threadIdx.x + s];
      sb[threadIdx.x] += sb[threadIdx.x + s];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    out[0] = sa[0];
    out[1] = sb[0];
  }
}

// One thread per row. logits, grad: (N, C); labels: (N); row_loss, row_valid: (N);
// bad: set to 1 + row when a label is outside [-1, C).
__global__ void ce_rows_kernel(const float* __restrict__ logits, const int32_t* __restrict__ labels, float* grad,
                               float* row_loss, float* row_valid, int* bad, int64_t N, int64_t C) {
  for (int64_t n = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; n < N; n += int64_t(gridDim.x) * blockDim.x) {
    const float* x = logits + n * C;
    float* g = grad + n * C;
    int32_t lab = labels[n];
    if (lab < -1 || lab >= C) {
      atomicCAS(bad, 0, static_cast<int>(n) + 1);  // any bad row; the host only reports one
      lab = -1;
    }
    if (lab == -1) {
      for (int64_t c = 0; c < C; ++c) g[c] = 0.f;
      row_loss[n] = 0.f;
      row_valid[n] = 0.f;
      continue;
    }
    float mx = x[0];
    for (int64_t c = 1; c < C; ++c) mx = fmaxf(mx, x[c]);
    float sum = 0.f;
    for (int64_t c = 0; c < C; ++c) sum += expf(x[c] - mx);
    row_loss[n] = logf(sum) - (x[lab] - mx);
    for (int64_t c = 0; c < C; ++c) g[c] = expf(x[c] - mx) / sum - (c == lab ? 1.f : 0.f);
    row_valid[n] = 1.f;
  }
}

// grad (n) *= 1 / max(count, 1), count = sums[1]
__global__ void scale_by_count_kernel(float* grad, int64_t n, const float* sums) {
  float cnt = sums[1];
  float inv = cnt > 0.f ? 1.f / cnt : 0.f;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    grad[i] *= inv;
}

// all: (n)
__global__ void smooth_l1_kernel(const float* __restrict__ pred, const float* __restrict__ target,
                                 const float* __restrict__ in_w, const float* __restrict__ out_w, float* grad,
                                 float* elem_loss, int64_t n, float sigma2, float normalizer) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    float iw = in_w ? in_w[i] : 1.f, ow = out_w ? out_w[i] : 1.f;
    float d = iw * (pred[i] - target[i]);
    elem_loss[i] = ow * smooth_l1_value(d, sigma2);
    grad[i] = ow * iw * smooth_l1_grad(d, sigma2) / normalizer;
  }
}

// logits, probs: (N, C); one thread per row (C is small here: 2 or 21 classes).
__global__ void softmax_kernel(const float* __restrict__ logits, float* probs, int64_t N, int64_t C) {
  for (int64_t n = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; n < N; n += int64_t(gridDim.x) * blockDim.x) {
    const float* x = logits + n * C;
    float* p = probs + n * C;
    float mx = x[0];
    for (int64_t c = 1; c < C; ++c) mx = fmaxf(mx, x[c]);
    float sum = 0.f;
    for (int64_t c = 0; c < C; ++c) sum += expf(x[c] - mx);
    for (int64_t c = 0; c < C; ++c) p[c] = expf(x[c] - mx) / sum;
  }
}

}  // namespace

float softmax_cross_entropy_cuda(const float* logits, const int32_t* labels, float* grad, int64_t N, int64_t C,
                                 Stream s) {
  cudaStream_t st = cuda_stream(s);
  // scratch: row_loss (N) | row_valid (N) | sums (2) | bad flag (1 int)
  Buffer scratch(sizeof(float) * (2 * N + 2) + sizeof(int), Device::cuda(current_cuda_device_for_losses()), s);
  float* row_loss = static_cast<float*>(scratch.data());
  float* row_valid = row_loss + N;
  float* sums = row_valid + N;
  int* bad = reinterpret_cast<int*>(sums + 2);
  CUDA_CHECK(cudaMemsetAsync(bad, 0, sizeof(int), st));
  FRCNN_LAUNCH(ce_rows_kernel, grid_stride_blocks(N, 128), 128, 0, st, logits, labels, grad, row_loss, row_valid, bad,
               N, C);
  FRCNN_LAUNCH(sum_reduce_kernel, 1, kReduceThreads, 0, st, row_loss, row_valid, N, sums);
  FRCNN_LAUNCH(scale_by_count_kernel, grid_stride_blocks(N * C), kBlockThreads, 0, st, grad, N * C, sums);
  float host[2];
  int host_bad = 0;
  CUDA_CHECK(cudaMemcpyAsync(host, sums, sizeof(host), cudaMemcpyDeviceToHost, st));
  CUDA_CHECK(cudaMemcpyAsync(&host_bad, bad, sizeof(int), cudaMemcpyDeviceToHost, st));
  CUDA_CHECK(cudaStreamSynchronize(st));
  if (host_bad)
    throw std::invalid_argument("softmax_cross_entropy: label of row " + std::to_string(host_bad - 1) +
                                " is outside [-1, " + std::to_string(C) + ")");
  return host[1] > 0.f ? host[0] / host[1] : 0.f;
}

float smooth_l1_cuda(const float* pred, const float* target, const float* in_w, const float* out_w, float* grad,
                     int64_t n, float sigma, float normalizer, Stream s) {
  cudaStream_t st = cuda_stream(s);
  Buffer scratch(sizeof(float) * (n + 2), Device::cuda(current_cuda_device_for_losses()), s);
  float* elem = static_cast<float*>(scratch.data());
  float* sums = elem + n;
  FRCNN_LAUNCH(smooth_l1_kernel, grid_stride_blocks(n), kBlockThreads, 0, st, pred, target, in_w, out_w, grad, elem, n,
               sigma * sigma, normalizer);
  FRCNN_LAUNCH(sum_reduce_kernel, 1, kReduceThreads, 0, st, elem, nullptr, n, sums);
  float host[2];
  CUDA_CHECK(cudaMemcpyAsync(host, sums, sizeof(host), cudaMemcpyDeviceToHost, st));
  CUDA_CHECK(cudaStreamSynchronize(st));
  return host[0] / normalizer;
}

void softmax_cuda(const float* logits, float* probs, int64_t N, int64_t C, Stream s) {
  cudaStream_t st = cuda_stream(s);
  FRCNN_LAUNCH(softmax_kernel, grid_stride_blocks(N, 128), 128, 0, st, logits, probs, N, C);
}

}  // namespace frcnn
