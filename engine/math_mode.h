// The precision of the convolutions and fully connected layers (config model.precision).
// Activations, weights and gradients are stored in FP32 in every mode; the mode says what
// the products are computed from. Everything else (RoI pooling, softmax, box decoding,
// losses, SGD with its FP32 master weights) is FP32 always.
//
//   mode  own conv (CUDA)            cuDNN conv                    cuBLAS Linear            CPU path
//   fp32  FP32 FMA (SIMT)            CUDNN_FMA_MATH                sgemm, DEFAULT_MATH      FP32
//   tf32  mma.sync m16n8k8 TF32      TF32 allowed (below)          TF32_TENSOR_OP_MATH      operands rounded
//                                                                                           to TF32 (rna)
//   bf16  mma.sync m16n8k16 BF16     BF16 x / w / y, FP32 compute  GemmEx BF16 A/B, 32F     operands rounded
//                                                                                           to BF16 (rne)
// In tf32 / bf16 every product is of two rounded operands, accumulated in FP32, on both
// devices, so the CPU path is the reference of what the tensor cores compute (up to the
// order of the FP32 additions). See docs/LAYERS.md "Precision".
//
// Since sm_80, cuDNN and cuBLAS can run FP32 convolutions and GEMMs on tensor cores in
// TF32: inputs rounded to a 10-bit mantissa (FP32 has 23), products accumulated in FP32.
// That is several times faster and about 1e-3 relative error per product, so a result is
// no longer comparable with an FP32 reference at FP32 tolerances. The mode is therefore
// explicit, carried by the Context that owns the library handles (engine/context.h), and
// reported by `frcnn info` and the benchmarks:
//
//   mode  cuDNN convolution math type      cuBLAS math mode
//   fp32  CUDNN_FMA_MATH                   CUBLAS_DEFAULT_MATH
//   tf32  as ranked by cuDNN (TF32 tensor  CUBLAS_TF32_TENSOR_OP_MATH
//         cores allowed, no FP16 down-
//         conversion)
//
// fp32, cuDNN: CUDNN_DEFAULT_MATH is NOT enough, it permits TF32 on sm_80+; only
// CUDNN_FMA_MATH restricts cuDNN to FMA kernels. fp32, cuBLAS: CUBLAS_DEFAULT_MATH
// computes "with at least the requested precision" (cuBLAS docs, cublasMath_t), which
// excludes TF32 for sgemm/sgemv/sger; TF32 needs CUBLAS_TF32_TENSOR_OP_MATH (or a
// FAST_TF32 compute type, which frcnn never passes). CUBLAS_PEDANTIC_MATH would also
// guarantee it but additionally forbids cuBLAS's ordinary choices of fast FP32 kernels
// and is documented for "numerical robustness studies"; our cuBLAS numbers are the
// yardstick a user of cuBLAS gets, so we use the default.
//
// The process environment can still override what a program sets: see
// math_env_overrides().
#pragma once
#include <string>

namespace frcnn {

enum class MathMode { Fp32, Tf32, Bf16 };

// "fp32" | "tf32" | "bf16"; throws std::invalid_argument naming the bad value.
MathMode parse_math_mode(const std::string& s);
const char* math_mode_name(MathMode m);  // "fp32" | "tf32" | "bf16"
// One line for logs and reports: the mode and what it means for each backend, e.g.
// "fp32 (own conv FP32 FMA; cuDNN CUDNN_FMA_MATH, cuBLAS CUBLAS_DEFAULT_MATH: no TF32)".
std::string math_mode_description(MathMode m);

// The environment variables NVIDIA's libraries read that change the math a program asked
// for, as "NAME=value (effect)" joined by "; ", or "" when none is set:
//   NVIDIA_TF32_OVERRIDE=0            cuBLAS and cuDNN never use TF32 (tf32 mode runs fp32)
//   NVIDIA_TF32_OVERRIDE=<other>      listed as set (NVIDIA documents only the value 0)
//   CUBLAS_EMULATE_SINGLE_PRECISION   cuBLAS may emulate FP32 GEMMs with BF16x9 on GPUs that
//                                     have it (Blackwell); not TF32, but not plain FMA either
std::string math_env_overrides();

}  // namespace frcnn
