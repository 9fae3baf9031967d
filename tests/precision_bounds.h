// Error bounds of the tf32 / bf16 precisions, for the tests that compare them (conv2d,
// Linear, the detector). From the formats (Higham, "Accuracy and Stability of Numerical
// Algorithms", 2nd ed., sec. 3.1); S = sum_k |a_k| |b_k| for one output element (the same
// product on the operands' absolute values), K its number of products, eps = 2^-24 FP32's
// unit roundoff.
//  * An FP32 sum of K products in any order is within gamma_K S of the exact one,
//    gamma_K = K eps / (1 - K eps). Two such sums (two orders, or a split reduction) are
//    within 2 gamma_K S of each other: the bound of a CUDA pass against the CPU path of the
//    same precision, whose operands are rounded bit for bit alike (kernels/tensor_formats.h).
//    On a real tensor core the additions inside one mma truncate rather than round (Fasi et
//    al., "Numerical behavior of NVIDIA tensor cores", PeerJ CS 2021), up to one ulp per
//    addition instead of half: 4 gamma_K S there.
//  * Rounding an operand to the format changes it by a relative u at most: u = 2^-11 for
//    TF32 (10 stored mantissa bits, round to nearest) and 2^-8 for BF16 (7 bits). A product
//    of two rounded operands is then within (2u + u^2) |a| |b| of the exact product, so a
//    tf32 / bf16 result is within (2u + u^2) S + 2 gamma_K S of the FP32 one.
#pragma once
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "engine/math_mode.h"
#include "engine/tensor.h"

namespace frcnn::test {

inline double unit_roundoff(MathMode m) { return m == MathMode::Tf32 ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8); }
// (2u + u^2): the relative error of one product of two rounded operands.
inline double product_bound(MathMode m) { return 2 * unit_roundoff(m) + unit_roundoff(m) * unit_roundoff(m); }
inline double gamma(int64_t K) {
  const double e = std::ldexp(1.0, -24);
  return double(K) * e / (1.0 - double(K) * e);
}

inline Tensor abs_of(const Tensor& t) {
  std::vector<float> v = t.to_vector<float>();
  for (float& f : v) f = std::fabs(f);
  return Tensor::from_vector<float>(t.shape(), v);
}

// Every |got - want| <= c_rel * S + 1e-30 element-wise; reports the worst element relative to its bound.
inline void require_within(const Tensor& got, const Tensor& want, const Tensor& S, double c_rel, const std::string& what) {
  const std::vector<float> g = got.to_vector<float>(), w = want.to_vector<float>(), s = S.to_vector<float>();
  REQUIRE(g.size() == w.size());
  REQUIRE(g.size() == s.size());
  double worst = 0.0;
  size_t at = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    const double ratio = std::fabs(double(g[i]) - w[i]) / (c_rel * s[i] + 1e-30);
    if (!(ratio <= worst)) worst = ratio, at = i;  // NaN becomes the worst
  }
  INFO(what << ": worst element " << at << " got " << g[at] << " want " << w[at] << ", " << worst
            << " x its bound " << c_rel << " S (S = " << s[at] << ")");
  REQUIRE(worst <= 1.0);
}

}  // namespace frcnn::test
