#include "engine/math_mode.h"

#include <cstdlib>
#include <stdexcept>

namespace frcnn {

MathMode parse_math_mode(const std::string& s) {
  if (s == "fp32") return MathMode::Fp32;
  if (s == "tf32") return MathMode::Tf32;
  if (s == "bf16") return MathMode::Bf16;
  throw std::invalid_argument("precision: '" + s + "' is not one of fp32, tf32, bf16");
}

const char* math_mode_name(MathMode m) {
  switch (m) {
    case MathMode::Fp32: return "fp32";
    case MathMode::Tf32: return "tf32";
    case MathMode::Bf16: return "bf16";
  }
  return "?";
}

std::string math_mode_description(MathMode m) {
  switch (m) {
    case MathMode::Fp32:
      return "fp32 (own conv FP32 FMA; cuDNN CUDNN_FMA_MATH, cuBLAS CUBLAS_DEFAULT_MATH: no TF32)";
    case MathMode::Tf32:
      return "tf32 (own conv TF32 tensor cores; cuDNN TF32 allowed, cuBLAS CUBLAS_TF32_TENSOR_OP_MATH; "
             "CPU rounds operands to TF32)";
    case MathMode::Bf16:
      return "bf16 (own conv BF16 tensor cores; cuDNN BF16 data, cuBLAS BF16 operands, FP32 accumulate; "
             "CPU rounds operands to BF16)";
  }
  return "?";
}

std::string math_env_overrides() {
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : "; ") + s; };
  if (const char* v = std::getenv("NVIDIA_TF32_OVERRIDE")) {
    const std::string s = v;
    add("NVIDIA_TF32_OVERRIDE=" + s +
        (s == "0" ? " (cuBLAS and cuDNN never use TF32: tf32 runs as fp32)" : " (set; NVIDIA documents only 0)"));
  }
  if (const char* v = std::getenv("CUBLAS_EMULATE_SINGLE_PRECISION"))
    add(std::string("CUBLAS_EMULATE_SINGLE_PRECISION=") + v +
        " (cuBLAS may emulate FP32 GEMMs with BF16x9 where the GPU has it)");
  return out;
}

}  // namespace frcnn
