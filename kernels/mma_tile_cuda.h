// Host-side launcher of mma_tile_cuda.cu. Internal: included by mma_tile.cpp and
// mma_tile_cuda.cu only; compiled with the CUDA backend.
#pragma once
#include "kernels/mma_tile.h"

namespace frcnn {

void mma_tile_cuda(MmaFormat format, const float* a, const float* b, const float* c, float* d, const Device& dev,
                   Stream s);

}  // namespace frcnn
