// One warp-level tensor-core multiply, D = A B + C: the building block of the tensor-core
// convolution, run on its own so that the PTX wrappers' fragment layouts (kernels/ptx.cuh)
// are proven, on the emulated device in CI and on a GPU, before a kernel relies on them.
//
//   MmaFormat::Tf32: A (16, 8), B (8, 8), C and D (16, 8). A and B are rounded to TF32
//                    (cvt.rna), the products summed in FP32: mma.m16n8k8.tf32.
//   MmaFormat::Bf16: A (16, 16), B (16, 8), C and D (16, 8). A and B are rounded to BF16
//                    (nearest even) and moved global -> shared with cp.async, loaded into
//                    fragments with ldmatrix (B with .trans), multiplied with mma.m16n8k16.bf16.
// Every tensor F32, row-major, on the context's device. The CPU path is the reference: the
// same roundings, then the k products added to C in k order in FP32. The emulated twins add
// in that order too, so the emulated device matches it exactly; a GPU's tensor core adds in
// its own order and precision (tolerance in the test).
#pragma once
#include "engine/context.h"
#include "engine/tensor.h"

namespace frcnn {

enum class MmaFormat { Tf32, Bf16 };

Tensor mma_tile(Context& ctx, MmaFormat format, const Tensor& a, const Tensor& b, const Tensor& c);

// a: (16, K), b: (K, 8), c, d: (16, 8); K = 8 (tf32) or 16 (bf16).
void mma_tile_cpu(MmaFormat format, const float* a, const float* b, const float* c, float* d);

}  // namespace frcnn
