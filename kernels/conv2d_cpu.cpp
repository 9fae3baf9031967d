#include <cblas.h>

#include <vector>

#include "kernels/conv2d.h"

namespace frcnn {

// x: (Cin, H, W) -> col: (Cin*KH*KW, Ho*Wo); out-of-image taps are 0.
void conv2d_im2col_cpu(const Conv2dGeom& g, const float* x, float* col) {
  for (int64_t ci = 0; ci < g.Cin; ++ci)
    for (int64_t r = 0; r < g.KH; ++r)
      for (int64_t s = 0; s < g.KW; ++s) {
        float* row = col + ((ci * g.KH + r) * g.KW + s) * g.Ho * g.Wo;
        for (int64_t oh = 0; oh < g.Ho; ++oh) {
          int64_t ih = oh * g.stride - g.pad + r;
          for (int64_t ow = 0; ow < g.Wo; ++ow) {
            int64_t iw = ow * g.stride - g.pad + s;
            bool in = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
            row[oh * g.Wo + ow] = in ? x[(ci * g.H + ih) * g.W + iw] : 0.f;
          }
        }
      }
}

// col: (Cin*KH*KW, Ho*Wo) accumulated (+=) into x: (Cin, H, W).
void conv2d_col2im_cpu(const Conv2dGeom& g, const float* col, float* x) {
  for (int64_t ci = 0; ci < g.Cin; ++ci)
    for (int64_t r = 0; r < g.KH; ++r)
      for (int64_t s = 0; s < g.KW; ++s) {
        const float* row = col + ((ci * g.KH + r) * g.KW + s) * g.Ho * g.Wo;
        for (int64_t oh = 0; oh < g.Ho; ++oh) {
          int64_t ih = oh * g.stride - g.pad + r;
          if (ih < 0 || ih >= g.H) continue;
          for (int64_t ow = 0; ow < g.Wo; ++ow) {
            int64_t iw = ow * g.stride - g.pad + s;
            if (iw >= 0 && iw < g.W) x[(ci * g.H + ih) * g.W + iw] += row[oh * g.Wo + ow];
          }
        }
      }
}

// x: (N, Cin, H, W); w: (Cout, K = Cin*KH*KW); b: (Cout); y: (N, Cout, Ho*Wo)
void conv2d_forward_cpu(const Conv2dGeom& g, const float* x, const float* w, const float* b, float* y) {
  const int64_t K = g.Cin * g.KH * g.KW, P = g.Ho * g.Wo;
  std::vector<float> col(static_cast<size_t>(K * P));
  for (int64_t n = 0; n < g.N; ++n) {
    conv2d_im2col_cpu(g, x + n * g.Cin * g.H * g.W, col.data());
    float* yn = y + n * g.Cout * P;
    // yn (Cout, P) = w (Cout, K) * col (K, P)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(g.Cout), int(P), int(K), 1.f, w, int(K), col.data(),
                int(P), 0.f, yn, int(P));
    if (b)
      for (int64_t co = 0; co < g.Cout; ++co)
        for (int64_t p = 0; p < P; ++p) yn[co * P + p] += b[co];
  }
}

// gy: (N, Cout, P); w: (Cout, K); gx: (N, Cin, H, W) overwritten
void conv2d_backward_data_cpu(const Conv2dGeom& g, const float* gy, const float* w, float* gx) {
  const int64_t K = g.Cin * g.KH * g.KW, P = g.Ho * g.Wo;
  std::vector<float> col(static_cast<size_t>(K * P));
  for (int64_t i = 0; i < g.N * g.Cin * g.H * g.W; ++i) gx[i] = 0.f;
  for (int64_t n = 0; n < g.N; ++n) {
    // col (K, P) = w^T (K, Cout) * gy_n (Cout, P)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(K), int(P), int(g.Cout), 1.f, w, int(K),
                gy + n * g.Cout * P, int(P), 0.f, col.data(), int(P));
    conv2d_col2im_cpu(g, col.data(), gx + n * g.Cin * g.H * g.W);
  }
}

// x: (N, Cin, H, W); gy: (N, Cout, P); gw (Cout, K) += ; gb (Cout) +=
void conv2d_backward_weight_cpu(const Conv2dGeom& g, const float* x, const float* gy, float* gw, float* gb) {
  const int64_t K = g.Cin * g.KH * g.KW, P = g.Ho * g.Wo;
  std::vector<float> col(static_cast<size_t>(K * P));
  for (int64_t n = 0; n < g.N; ++n) {
    conv2d_im2col_cpu(g, x + n * g.Cin * g.H * g.W, col.data());
    const float* gyn = gy + n * g.Cout * P;
    // gw (Cout, K) += gy_n (Cout, P) * col^T (P, K)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(g.Cout), int(K), int(P), 1.f, gyn, int(P), col.data(),
                int(P), 1.f, gw, int(K));
  }
  if (gb) conv2d_backward_weight_bias_cpu(g, gy, gb);
}

// gy: (N, Cout, P); gb (Cout) += , each image's sum in double, as one addition
void conv2d_backward_weight_bias_cpu(const Conv2dGeom& g, const float* gy, float* gb) {
  const int64_t P = g.Ho * g.Wo;
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t co = 0; co < g.Cout; ++co) {
      const float* row = gy + (n * g.Cout + co) * P;
      double sum = 0.0;
      for (int64_t p = 0; p < P; ++p) sum += row[p];
      gb[co] += static_cast<float>(sum);
    }
}

}  // namespace frcnn
