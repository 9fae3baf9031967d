#include "engine/math_mode.h"

#include <cstdlib>
#include <stdexcept>

namespace frcnn {

MathMode parse_math_mode(const std::string& s) {
  if (s == "fp32") return MathMode::Fp32;
  if (s == "tf32") return MathMode::Tf32;
  throw std::invalid_argument("math: '" + s + "' is not one of fp32, tf32");
}

const char* math_mode_name(MathMode m) { return m == MathMode::Fp32 ? "fp32" : "tf32"; }

std::string math_mode_description(MathMode m) {
  if (m == MathMode::Fp32) return "fp32 (cuDNN CUDNN_FMA_MATH, cuBLAS CUBLAS_DEFAULT_MATH: no TF32; own kernels fp32)";
  return "tf32 (cuDNN TF32 tensor cores allowed, cuBLAS CUBLAS_TF32_TENSOR_OP_MATH; own kernels fp32)";
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
