// Host-side launchers of roi_pool_cuda.cu, on the stream they are given. Internal: included
// by roi_pool.cpp (the dispatcher) and roi_pool_cuda.cu only; compiled with the CUDA backend.
#pragma once
#include "kernels/roi_pool.h"

namespace frcnn {

void roi_pool_forward_cuda(const float* features, int N, int C, int H, int W, const float* rois, int R, int PH, int PW,
                           float scale, float* out, int32_t* argmax, Stream s);
void roi_pool_backward_cuda(const float* grad_out, const int32_t* argmax, const float* rois, int R, int N, int C, int H,
                            int W, int PH, int PW, float scale, float* grad, const Device& dev, Stream s);

}  // namespace frcnn
