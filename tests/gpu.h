// GPU tests: tag them [gpu] and start them with FRCNN_REQUIRE_GPU(). Without a GPU the
// test prints one line and returns; CTest (SKIP_REGULAR_EXPRESSION) reports it skipped.
#pragma once
#include <catch2/catch.hpp>
#include <cstdio>

#include "engine/device.h"

#define FRCNN_REQUIRE_GPU()                                                                 \
  do {                                                                                      \
    if (!::frcnn::cuda_available()) {                                                       \
      std::printf("SKIPPED: no GPU (%s)\n", ::frcnn::built_with_cuda()                      \
                                                ? "built with CUDA, no device found"        \
                                                : "built without CUDA");                    \
      return;                                                                               \
    }                                                                                       \
  } while (0)

// cuDNN tests: after FRCNN_REQUIRE_GPU(). A build without cuDNN (and the emulated
// device, which does not emulate it) prints one line and returns; CTest reports a skip.
#if FRCNN_WITH_CUDNN
#define FRCNN_REQUIRE_CUDNN() \
  do {                        \
  } while (0)
#else
#define FRCNN_REQUIRE_CUDNN()                                                                          \
  do {                                                                                                 \
    std::printf("SKIPPED: no cuDNN (%s)\n", FRCNN_CUDA_EMULATION ? "the emulated device has none"    \
                                                                 : "this build has no cuDNN");       \
    return;                                                                                            \
  } while (0)
#endif
