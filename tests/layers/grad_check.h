// Central-difference gradient checker (modelled on Caffe's GradientChecker), reusable
// by any layer or op test (RoI pool, the model heads, ...).
//
//   numeric_i = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)
//   pass:      |analytic_i - numeric_i| <= tol * max(|analytic_i|, |numeric_i|, 1)
// The objective f is evaluated in float by the code under test and accumulated in
// double by the checker. Kinks (ReLU at 0, max-pool switches, smooth-L1's joint) are
// detected, not configured: when the two one-sided differences disagree by more than
// kink_tol * max(|analytic|, 1) the point is skipped and counted. A check fails when
// more than max_skip_fraction of the sampled points were skipped, so "skip everything"
// cannot pass.
//
//   GradCheckOptions o;  // eps 1e-2, tol 1e-2 as Caffe
//   check_layer_gradients(ctx, layer, x, o);            // dL/dx and every param grad
//   check_gradient("what", x, analytic_host, [&] { return objective(); }, o);
#pragma once
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "engine/context.h"
#include "engine/tensor.h"
#include "layers/layer.h"
#include "tests/test_util.h"

namespace frcnn::test {

struct GradCheckOptions {
  double eps = 1e-2;
  double tol = 1e-2;
  double kink_tol = 0.02;  // 2 * tol: a kink smaller than this cannot push the central difference past tol
  double max_skip_fraction = 0.2;
  int max_checks = 150;  // points sampled per tensor (all of them when the tensor is smaller)
  uint32_t seed = 7;
};

struct GradCheckReport {
  int checked = 0, skipped = 0;
  double worst = 0;  // worst |a - n| / scale
};

// Reads / writes one element of a tensor on any device.
inline float get_elem(const Tensor& t, int64_t i) {
  float v = 0;
  copy_bytes(&v, Device::cpu(), static_cast<const char*>(t.raw_data()) + i * sizeof(float), t.device(), sizeof(float),
             Stream{});
  return v;
}
inline void set_elem(Tensor& t, int64_t i, float v) {
  copy_bytes(static_cast<char*>(t.raw_data()) + i * sizeof(float), t.device(), &v, Device::cpu(), sizeof(float),
             Stream{});
  device_synchronize();
}

// Checks `analytic` (host copy of dF/dx) against central differences of f() in x.
// x is perturbed in place (and restored).
inline GradCheckReport check_gradient(const std::string& what, Tensor& x, const std::vector<float>& analytic,
                                      const std::function<double()>& f, const GradCheckOptions& o = {}) {
  REQUIRE(static_cast<int64_t>(analytic.size()) == x.numel());
  std::vector<int64_t> idx(static_cast<size_t>(x.numel()));
  std::iota(idx.begin(), idx.end(), 0);
  if (static_cast<int64_t>(idx.size()) > o.max_checks) {
    std::mt19937 gen(o.seed);
    std::shuffle(idx.begin(), idx.end(), gen);
    idx.resize(static_cast<size_t>(o.max_checks));
  }
  GradCheckReport r;
  const double f0 = f();
  for (int64_t i : idx) {
    const float orig = get_elem(x, i);
    set_elem(x, i, static_cast<float>(orig + o.eps));
    const double fp = f();
    set_elem(x, i, static_cast<float>(orig - o.eps));
    const double fm = f();
    set_elem(x, i, orig);
    // The actual perturbation after float rounding.
    const double hp = double(static_cast<float>(orig + o.eps)) - orig, hm = orig - double(static_cast<float>(orig - o.eps));
    const double a = analytic[static_cast<size_t>(i)];
    const double dp = (fp - f0) / hp, dm = (f0 - fm) / hm;
    if (std::fabs(dp - dm) > o.kink_tol * std::max(1.0, std::fabs(a))) {
      ++r.skipped;
      continue;
    }
    const double num = (fp - fm) / (hp + hm);
    const double scale = std::max({std::fabs(a), std::fabs(num), 1.0});
    const double err = std::fabs(a - num) / scale;
    r.worst = std::max(r.worst, err);
    ++r.checked;
    if (err > o.tol) {
      INFO(what << ": element " << i << " analytic " << a << " numeric " << num << " (f0 " << f0 << ")");
      CHECK(err <= o.tol);
    }
  }
  INFO(what << ": checked " << r.checked << ", skipped (kinks) " << r.skipped);
  REQUIRE(r.skipped <= o.max_skip_fraction * double(idx.size()));
  return r;
}

// sum(a * b) in double over host copies.
inline double dot_host(const Tensor& a, const std::vector<float>& b) {
  std::vector<float> av = a.to_vector<float>();
  REQUIRE(av.size() == b.size());
  double s = 0;
  for (size_t i = 0; i < av.size(); ++i) s += double(av[i]) * double(b[i]);
  return s;
}

// L = sum(layer.forward(x) * r) for a fixed random r; checks dL/dx (when check_input
// and the layer propagates down) and the gradient of every non-frozen parameter.
inline void check_layer_gradients(Context& ctx, Layer& layer, Tensor x, const GradCheckOptions& o = {},
                                  bool check_input = true) {
  layer.set_training(true);
  Tensor y = layer.forward(ctx, x);
  std::vector<float> r = random_tensor(y.shape(), o.seed + 1).to_vector<float>();
  Tensor r_dev = Tensor::from_vector<float>(y.shape(), r).to(ctx.device(), ctx.stream());
  std::vector<Param*> ps = layer.params();
  zero_grad(ctx, ps);
  Tensor gx = layer.backward(ctx, r_dev);
  ctx.synchronize();
  auto objective = [&] {
    Tensor yy = layer.forward(ctx, x);
    ctx.synchronize();
    return dot_host(yy, r);
  };
  if (check_input && layer.propagate_down()) {
    REQUIRE(gx.defined());
    REQUIRE(gx.shape() == x.shape());
    check_gradient(layer.name() + " dL/dx", x, gx.to_vector<float>(), objective, o);
  }
  for (Param* p : ps) {
    if (p->frozen) continue;
    REQUIRE(p->grad.defined());
    check_gradient(p->name, p->value, p->grad.to_vector<float>(), objective, o);
  }
}

}  // namespace frcnn::test
