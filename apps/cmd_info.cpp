// `frcnn info`: build flags, library versions and the GPUs this process can see.
#include <cstdio>
#include <string>

#include "apps/commands.h"
#include "engine/device.h"

#if FRCNN_WITH_CUDA
#include <cublas_v2.h>
#include <cuda_runtime.h>
#if FRCNN_WITH_CUDNN
#include <cudnn.h>
#endif
#endif

namespace frcnn::cli {

namespace {

std::string cuda_version_str(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

void print_info() {
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
  auto* cmd = app.add_subcommand("info", "Build flags, CUDA/cuBLAS/cuDNN versions and the GPUs found");
  cmd->callback([] { print_info(); });
}

}  // namespace frcnn::cli
