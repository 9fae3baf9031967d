// model.precision / model.backbone.deterministic: the config keys, their way into the run's Context
// (apps/run_setup), and what `frcnn info` and `frcnn bench` report.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "apps/run_setup.h"
#include "tests/apps/frcnn_cli.h"
#include "tests/test_util.h"
#include "train/config.h"

using namespace frcnn;
using namespace frcnn::cli;
namespace fs = std::filesystem;

TEST_CASE("math config: defaults fp32 and deterministic, validated, dumped", "[config][math]") {
  Config c = default_config();
  REQUIRE(c.model.precision == "fp32");
  REQUIRE(c.model.backbone.deterministic);
  Config t = default_config({"model.precision=tf32", "model.backbone.deterministic=false"});
  REQUIRE(t.model.precision == "tf32");
  REQUIRE_FALSE(t.model.backbone.deterministic);
  REQUIRE(default_config({"model.precision=bf16"}).model.precision == "bf16");
  const std::string dump = dump_config(t);
  REQUIRE_THAT(dump, Catch::Contains("  precision: tf32  # convolutions and fully connected layers"));
  REQUIRE_THAT(dump, Catch::Contains("    deterministic: false  # cuDNN uses only deterministic algorithms"));
  REQUIRE_THROWS_WITH(default_config({"model.precision=fp16"}),
                      Catch::Contains("model.precision") && Catch::Contains("fp32, tf32 or bf16"));
  // bf16 on either convolution backend (cuDNN's BF16 configuration, layers/conv2d_layer.h).
  const Config bc = default_config({"model.precision=bf16", "model.backbone.conv_backend=cudnn"});
  REQUIRE(bc.model.precision == "bf16");
  REQUIRE(bc.model.backbone.conv_backend == "cudnn");
  // The key of older configs and model files still reads, as model.precision.
  REQUIRE(default_config({"model.backbone.math=tf32"}).model.precision == "tf32");
  REQUIRE_THAT(dump_config(default_config({"model.backbone.math=tf32"})), !Catch::Contains("math:"));
  REQUIRE_THROWS_WITH(default_config({"model.backbone.deterministic=sometimes"}),
                      Catch::Contains("model.backbone.deterministic"));
}

TEST_CASE("math config: start_run puts the math mode and determinism on the context", "[run_setup][math]") {
  RunOptions opt;
  opt.device = "cpu";
  Run fp32 = start_run(opt, "");
  REQUIRE(fp32.ctx->math_mode() == MathMode::Fp32);
  REQUIRE(fp32.ctx->deterministic());
  opt.sets = {"model.precision=tf32", "model.backbone.deterministic=false"};
  Run tf32 = start_run(opt, "");
  REQUIRE(tf32.ctx->math_mode() == MathMode::Tf32);
  REQUIRE_FALSE(tf32.ctx->deterministic());
  opt.sets = {"model.precision=bf16"};
  REQUIRE(start_run(opt, "").ctx->math_mode() == MathMode::Bf16);
}

TEST_CASE("math config: frcnn info reports the math mode of a config", "[apps][math]") {
  auto dir = test::temp_dir("info_math");
  test::CmdResult r = test::run_frcnn(dir, "info");
  REQUIRE(r.code == 0);
  REQUIRE_THAT(r.out, Catch::Contains("  math           fp32 (own conv FP32 FMA; cuDNN CUDNN_FMA_MATH, cuBLAS CUBLAS_DEFAULT_MATH"));
  REQUIRE_THAT(r.out, Catch::Contains("  math config    defaults (model.precision, model.backbone.deterministic)"));
  REQUIRE_THAT(r.out, Catch::Contains("  cuDNN algos    deterministic only"));
  r = test::run_frcnn(
      dir, "info -c " + test::quote(FRCNN_SOURCE_DIR "/configs/tiny.yaml") + " --set model.precision=tf32");
  REQUIRE(r.code == 0);
  REQUIRE_THAT(r.out,
               Catch::Contains("  math           tf32 (own conv TF32") && Catch::Contains("tiny.yaml, 1 --set (model.precision"));
  // An environment override NVIDIA's libraries honour is reported as such.
  const std::string exe = test::quote(FRCNN_BINARY_DIR "/bin/frcnn");
  const std::string cmd = "NVIDIA_TF32_OVERRIDE=0 " + exe + " info > " + test::quote((dir / "env.out").string());
  REQUIRE(std::system(cmd.c_str()) == 0);
  REQUIRE_THAT(test::slurp(dir / "env.out"), Catch::Contains("  math env       NVIDIA_TF32_OVERRIDE=0"));
}

TEST_CASE("math config: frcnn bench labels its report with the math mode", "[bench][math]") {
  auto dir = test::temp_dir("bench_math");
  const fs::path json = dir / "e2e.json";
  test::CmdResult r = test::run_frcnn(dir, "bench --config " + test::quote(FRCNN_SOURCE_DIR "/configs/tiny.yaml") +
                                               " --device cpu --iters 1 --warmup 0 --mode inference --size 64x96" +
                                               " --json " + test::quote(json.string()));
  REQUIRE(r.code == 0);
  REQUIRE_THAT(r.out, Catch::Contains("\n  math    fp32 (CPU"));
  auto j = test::read_json(json);
  REQUIRE(j["math"] == "fp32");
  REQUIRE(j["deterministic"] == true);
  REQUIRE_THAT(j["math_detail"].get<std::string>(), Catch::Contains("fp32"));
}
