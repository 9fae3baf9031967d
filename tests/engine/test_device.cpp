#include <catch2/catch.hpp>

#include "engine/device.h"
#include "engine/log.h"
#include "engine/timer.h"
#include "tests/gpu.h"

using namespace frcnn;

TEST_CASE("device: parsing and resolution", "[device]") {
  REQUIRE(resolve_device("cpu") == Device::cpu());
  REQUIRE(Device::cuda(1).str() == "cuda:1");
  REQUIRE_THROWS_WITH(resolve_device("tpu"), Catch::Contains("bad device 'tpu'"));
  REQUIRE_THROWS_WITH(resolve_device("cuda:x"), Catch::Contains("bad device"));
  Device a = resolve_device("auto");
  REQUIRE(a.is_cuda() == cuda_available());
  if (!cuda_available()) {
    // Asking for a GPU that is not there says which half is missing.
    REQUIRE_THROWS_WITH(resolve_device("cuda"), Catch::Contains(built_with_cuda() ? "no GPU" : "without CUDA"));
    REQUIRE(list_gpus().empty());
  }
}

TEST_CASE("device: log levels", "[log]") {
  REQUIRE(parse_log_level("warn") == LogLevel::Warn);
  REQUIRE_THROWS(parse_log_level("loud"));
  LogLevel old = log_level();
  set_log_level(LogLevel::Error);
  REQUIRE(log_level() == LogLevel::Error);
  set_log_level(old);
  REQUIRE(str_cat("iter ", 3, "/", 10) == "iter 3/10");
}

TEST_CASE("device: wall timer advances", "[timer]") {
  WallTimer t;
  volatile double x = 0;
  for (int i = 0; i < 100000; ++i) x = x + i;
  REQUIRE(t.seconds() >= 0.0);
}

TEST_CASE("device: GPU listing and event timer", "[device][gpu]") {
  FRCNN_REQUIRE_GPU();
  auto gpus = list_gpus();
  REQUIRE(!gpus.empty());
  REQUIRE(gpus[0].total_memory > 0);
  CudaStream s;
  CudaEventTimer t(s.get());
  t.stop();
  REQUIRE(t.millis() >= 0.f);
}
