#include <catch2/catch.hpp>

#include "engine/context.h"
#include "tests/gpu.h"

using namespace frcnn;

TEST_CASE("context: a CPU context has no stream and no library handles", "[context]") {
  Context ctx;
  REQUIRE(ctx.device().is_cpu());
  REQUIRE(ctx.stream().handle == nullptr);
  REQUIRE_THROWS_AS(ctx.cublas(), std::logic_error);
  ctx.synchronize();
}

TEST_CASE("context: a CUDA context owns a stream and creates handles once", "[context][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context ctx(Device::cuda());
  REQUIRE(ctx.stream().handle != nullptr);
  void* h = ctx.cublas();
  REQUIRE(h != nullptr);
  REQUIRE(ctx.cublas() == h);
}
