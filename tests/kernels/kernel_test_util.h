// Helpers for the kernel tests: seeded random boxes, device round trips.
#pragma once
#include <random>
#include <vector>

#include "engine/context.h"
#include "engine/tensor.h"
#include "tests/test_util.h"

namespace frcnn::test {

// (n, 4) boxes inside roughly [0, w] x [0, h], sizes in [min_size, max_size].
inline Tensor random_boxes(int64_t n, uint32_t seed, float w = 800.f, float h = 600.f, float min_size = 8.f,
                           float max_size = 300.f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> ux(0.f, w), uy(0.f, h), us(min_size, max_size);
  std::vector<float> v(static_cast<size_t>(4 * n));
  for (int64_t i = 0; i < n; ++i) {
    float cx = ux(gen), cy = uy(gen), bw = us(gen), bh = us(gen);
    v[4 * i] = cx - bw / 2;
    v[4 * i + 1] = cy - bh / 2;
    v[4 * i + 2] = cx + bw / 2;
    v[4 * i + 3] = cy + bh / 2;
  }
  return Tensor::from_vector<float>({n, 4}, v);
}

// n distinct scores in (0, 1) (a random permutation of (i + 1) / (n + 1)).
inline Tensor distinct_scores(int64_t n, uint32_t seed) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = float(i + 1) / float(n + 1);
  std::mt19937 gen(seed);
  std::shuffle(v.begin(), v.end(), gen);
  return Tensor::from_vector<float>({n}, v);
}

// Host copies of op results. Ops queue work on their context's (non-blocking) stream,
// while Tensor::to()/to_vector() copy on the legacy default stream, so wait for the GPU
// first.
inline Tensor host(const Tensor& t) {
  if (t.is_cuda()) device_synchronize();
  return t.to(Device::cpu());
}

template <class T>
inline std::vector<T> vec(const Tensor& t) {
  if (t.is_cuda()) device_synchronize();
  return t.to_vector<T>();
}

}  // namespace frcnn::test
