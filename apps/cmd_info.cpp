// `frcnn info [--config C] [--set k=v ...]`: build flags, library versions, the GPUs this
// process can see, and the cuDNN / cuBLAS math a run with that config would use.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "engine/device.h"
#include "engine/math_mode.h"
#include "train/config.h"

#if FRCNN_WITH_CUDA
#include <cublas_v2.h>
#include <cuda_runtime.h>
#if FRCNN_WITH_CUDNN
#include <cudnn.h>
#endif
#endif

namespace frcnn::cli {

namespace {

[[maybe_unused]] std::string cuda_version_str(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

struct InfoArgs {
  std::string config;
  std::vector<std::string> sets;
};

// The math lines: what model.precision / model.backbone.deterministic select, from the config (or
// the defaults) and its overrides, and any environment variable that overrides them.
void print_math(const InfoArgs& a) {
  const Config cfg = a.config.empty() ? default_config(a.sets) : load_config(a.config, a.sets);
  const std::string from = (a.config.empty() ? std::string("defaults") : a.config) +
                           (a.sets.empty() ? std::string() : ", " + std::to_string(a.sets.size()) + " --set");
  std::printf("  math           %s\n", math_mode_description(parse_math_mode(cfg.model.precision)).c_str());
  std::printf("  cuDNN algos    %s\n", cfg.model.backbone.deterministic ? "deterministic only" : "any determinism");
  std::printf("  math config    %s (model.precision, model.backbone.deterministic)\n", from.c_str());
  const std::string env = math_env_overrides();
  std::printf("  math env       %s\n", env.empty() ? "no override set" : env.c_str());
}

void print_info(const InfoArgs& a) {
  std::printf("frcnn %s\n", FRCNN_VERSION);
  std::printf("  compiler       %s\n", __VERSION__);
  std::printf("  CUDA backend   %s\n", !built_with_cuda()       ? "not built (FRCNN_CUDA=OFF or no nvcc)"
                                       : FRCNN_CUDA_EMULATION ? "built for the emulated GPU (runs on the CPU, emu/)"
                                                              : "built");
#if FRCNN_WITH_CUDA
  if (FRCNN_CUDA_EMULATION)
    std::printf("  CUDA archs     none (host C++ against emu/)\n");
  else
    std::printf("  CUDA archs     sm_%s\n", FRCNN_CUDA_ARCHS);
  std::printf("  sync launches  %s\n", FRCNN_SYNC_LAUNCHES ? "on (FRCNN_CUDA_SYNC_DEBUG)" : "off");
  int rt = 0, drv = 0;
  cudaRuntimeGetVersion(&rt);
  std::printf("  CUDA runtime   %s\n", cuda_version_str(rt).c_str());
  if (cudaDriverGetVersion(&drv) == cudaSuccess && drv > 0)
    std::printf("  CUDA driver    %s\n", cuda_version_str(drv).c_str());
  else
    std::printf("  CUDA driver    none\n");
  int maj = 0, min = 0, pat = 0;
  cublasGetProperty(MAJOR_VERSION, &maj);
  cublasGetProperty(MINOR_VERSION, &min);
  cublasGetProperty(PATCH_LEVEL, &pat);
  std::printf("  cuBLAS         %d.%d.%d\n", maj, min, pat);
#if FRCNN_WITH_CUDNN
  size_t dv = cudnnGetVersion();
  std::printf("  cuDNN          %zu.%zu.%zu\n", dv / 10000, (dv % 10000) / 100, dv % 100);
#else
  std::printf("  cuDNN          not found at build time\n");
#endif
  (void)cudaGetLastError();
#endif
  print_math(a);
  auto gpus = list_gpus();
  if (gpus.empty()) {
    std::printf("  GPUs           no GPU (the CPU path is used)\n");
  } else {
    for (const auto& g : gpus)
      std::printf("  GPU %d          %s, %.1f GiB, compute capability %d.%d, %d SMs\n", g.index, g.name.c_str(),
                  g.total_memory / double(1 << 30), g.cc_major, g.cc_minor, g.multiprocessors);
  }
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Build flags, CUDA/cuBLAS/cuDNN versions, the GPUs found, the math mode");
  auto a = std::make_shared<InfoArgs>();
  cmd->add_option("--config,-c", a->config, "config whose model.precision to report (default: the defaults)");
  cmd->add_option("--set", a->sets, "override a config key, e.g. --set model.precision=tf32 (repeatable)")
      ->allow_extra_args(false);
  cmd->callback([a] { print_info(*a); });
}

}  // namespace frcnn::cli
