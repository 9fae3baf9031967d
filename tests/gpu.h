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
