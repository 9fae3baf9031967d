// Per-element loss maths shared by losses_cpu.cpp and losses_cuda.cu.
#pragma once
#include <cmath>

#include "engine/host_device.h"

namespace frcnn {

// smoothL1(x) with sigma: 0.5 (sigma x)^2 if |x| < 1/sigma^2 else |x| - 0.5/sigma^2.
FRCNN_HD float smooth_l1_value(float x, float sigma2) {
  float ax = fabsf(x);
  return ax < 1.f / sigma2 ? 0.5f * sigma2 * x * x : ax - 0.5f / sigma2;
}

// d smoothL1 / dx: sigma^2 x inside the quadratic zone, sign(x) outside.
FRCNN_HD float smooth_l1_grad(float x, float sigma2) {
  float ax = fabsf(x);
  return ax < 1.f / sigma2 ? sigma2 * x : (x > 0.f ? 1.f : -1.f);
}

}  // namespace frcnn
