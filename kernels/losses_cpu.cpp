#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/losses.h"
#include "kernels/losses_math.h"

namespace frcnn {

// logits, grad: (N, C); labels: (N)
float softmax_cross_entropy_cpu(const float* logits, const int32_t* labels, float* grad, int64_t N, int64_t C) {
  double total = 0.0;
  int64_t valid = 0;
  for (int64_t n = 0; n < N; ++n) {
    const float* x = logits + n * C;
    float* g = grad + n * C;
    int32_t lab = labels[n];
    if (lab < -1 || lab >= C)
      throw std::invalid_argument("softmax_cross_entropy: label " + std::to_string(lab) + " of row " +
                                  std::to_string(n) + " is outside [-1, " + std::to_string(C) + ")");
    if (lab == -1) {
      for (int64_t c = 0; c < C; ++c) g[c] = 0.f;
      continue;
    }
    float mx = x[0];
    for (int64_t c = 1; c < C; ++c) mx = std::max(mx, x[c]);
    double sum = 0.0;
    for (int64_t c = 0; c < C; ++c) sum += std::exp(double(x[c] - mx));
    total += std::log(sum) - double(x[lab] - mx);
    for (int64_t c = 0; c < C; ++c) g[c] = static_cast<float>(std::exp(double(x[c] - mx)) / sum) - (c == lab ? 1.f : 0.f);
    ++valid;
  }
  if (valid == 0) return 0.f;
  float inv = 1.f / static_cast<float>(valid);
  for (int64_t i = 0; i < N * C; ++i) grad[i] *= inv;
  return static_cast<float>(total / double(valid));
}

// all pointers: (n); in_w / out_w may be null (ones)
float smooth_l1_cpu(const float* pred, const float* target, const float* in_w, const float* out_w, float* grad,
                    int64_t n, float sigma, float normalizer) {
  float sigma2 = sigma * sigma;
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    float iw = in_w ? in_w[i] : 1.f, ow = out_w ? out_w[i] : 1.f;
    float d = iw * (pred[i] - target[i]);
    total += double(ow) * smooth_l1_value(d, sigma2);
    grad[i] = ow * iw * smooth_l1_grad(d, sigma2) / normalizer;
  }
  return static_cast<float>(total / normalizer);
}

// logits, probs: (N, C)
void softmax_cpu(const float* logits, float* probs, int64_t N, int64_t C) {
  for (int64_t n = 0; n < N; ++n) {
    const float* x = logits + n * C;
    float* p = probs + n * C;
    float mx = x[0];
    for (int64_t c = 1; c < C; ++c) mx = std::max(mx, x[c]);
    double sum = 0.0;
    for (int64_t c = 0; c < C; ++c) sum += std::exp(double(x[c] - mx));
    for (int64_t c = 0; c < C; ++c) p[c] = static_cast<float>(std::exp(double(x[c] - mx)) / sum);
  }
}

}  // namespace frcnn
