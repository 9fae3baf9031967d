// Host-side launchers of conv2d_cuda.cu, on the stream they are given. Internal: included
// by conv2d.cpp (the dispatcher) and conv2d_cuda.cu only; compiled with the CUDA backend.
#pragma once
#include "kernels/conv2d.h"

namespace frcnn {

void conv2d_forward_cuda(const Conv2dGeom& g, const float* x, const float* w, const float* b, float* y, Stream s);
void conv2d_backward_data_cuda(const Conv2dGeom& g, const float* gy, const float* w, float* gx, Stream s);
void conv2d_backward_weight_cuda(const Conv2dGeom& g, const float* x, const float* gy, float* gw, float* gb, Stream s);

}  // namespace frcnn
