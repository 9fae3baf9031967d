// CPU loops of precision.h.
#include "kernels/precision.h"
#include "kernels/tensor_formats.h"

namespace frcnn {

void round_to_precision_cpu(const float* x, float* y, int64_t n, MathMode m) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = m == MathMode::Tf32 ? ptx::round_to_tf32(x[i]) : m == MathMode::Bf16 ? ptx::round_to_bf16(x[i]) : x[i];
}

void to_bf16_cpu(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = ptx::bf16_round_bits(ptx::float_bits(x[i]));
}

void bf16_to_f32_cpu(const uint16_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = ptx::bf16_bits_float(x[i]);
}

}  // namespace frcnn
