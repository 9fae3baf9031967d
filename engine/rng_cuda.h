// Host-side launcher of rng_cuda.cu. Internal: included by rng.cpp and rng_cuda.cu only;
// compiled with CUDA.
#pragma once
#include "engine/rng.h"

namespace frcnn {

void fill_uniform_cuda(float* d, int64_t n, RngKey key, Stream stream);

}  // namespace frcnn
