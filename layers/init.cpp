#include "layers/init.h"

#include <cmath>
#include <stdexcept>
#include <vector>

namespace frcnn {

float philox_normal(uint64_t seed, uint64_t stream, uint64_t i) {
  double u1 = philox_uniform(seed, stream, 2 * i);
  double u2 = philox_uniform(seed, stream, 2 * i + 1);
  // 1 - u1 is in (0, 1]: the log never sees 0.
  return static_cast<float>(std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(2.0 * M_PI * u2));
}

static void upload(Context& ctx, Tensor& t, const std::vector<float>& v) {
  Tensor host = Tensor::from_vector<float>(t.shape(), v);
  t.copy_from(host, ctx.stream());
  ctx.synchronize();  // `host` dies on return
}

static void check_f32(const Tensor& t, const char* what) {
  if (!t.defined()) throw std::invalid_argument(std::string(what) + ": undefined tensor");
  t.check_dtype(DType::F32, what);
}

void init_gaussian(Context& ctx, Tensor& t, float std, RngKey key) {
  check_f32(t, "init_gaussian");
  if (!(std >= 0.f)) throw std::invalid_argument("init_gaussian: std must be >= 0");
  std::vector<float> v(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = std * philox_normal(key.seed, key.stream, i);
  upload(ctx, t, v);
}

static int64_t fan_in(const Tensor& t) {
  if (t.ndim() < 2) throw std::invalid_argument("weight init: fan-in needs a tensor of rank >= 2, got " + shape_str(t.shape()));
  return t.numel() / t.size(0);
}

void init_msra(Context& ctx, Tensor& t, RngKey key) {
  check_f32(t, "init_msra");
  init_gaussian(ctx, t, static_cast<float>(std::sqrt(2.0 / double(fan_in(t)))), key);
}

void init_xavier(Context& ctx, Tensor& t, RngKey key) {
  check_f32(t, "init_xavier");
  int64_t fi = fan_in(t);
  int64_t receptive = fi / t.size(1);
  int64_t fo = t.size(0) * receptive;
  double a = std::sqrt(6.0 / double(fi + fo));
  std::vector<float> v(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((2.0 * key.uniform(i) - 1.0) * a);
  upload(ctx, t, v);
}

void init_zeros(Context& ctx, Tensor& t) {
  check_f32(t, "init_zeros");
  t.zero_(ctx.stream());
}

}  // namespace frcnn
