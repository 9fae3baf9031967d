// Layers and losses against golden values from torch 1.13 (scripts/fixtures/gen_layers.py).
#include <catch2/catch.hpp>

#include "engine/safetensors.h"
#include "kernels/conv2d.h"
#include "kernels/losses.h"
#include "kernels/maxpool2d.h"
#include "layers/basic_layers.h"
#include "layers/conv2d_layer.h"
#include "layers/linear.h"
#include "tests/gpu.h"
#include "tests/test_util.h"

using namespace frcnn;
using namespace frcnn::test;

namespace {

std::string fixture(const std::string& f) { return std::string(FRCNN_FIXTURES_DIR) + "/layers/" + f; }
Tensor on(Context& ctx, const Tensor& t) { return t.to(ctx.device(), ctx.stream()); }

void conv_fixtures(Context& ctx, ConvBackend backend) {
  TensorFile f = load_safetensors(fixture("conv2d.safetensors"));
  for (std::string c : {"conv_vgg", "conv_first", "conv_1x1", "conv_s2"}) {
    INFO(c);
    std::vector<int32_t> cfg = f.get(c + ".cfg").to_vector<int32_t>();
    const Tensor& w = f.get(c + ".w");
    Conv2dOptions o;
    o.out = w.size(0), o.in = w.size(1), o.kernel = cfg[0], o.pad = cfg[1], o.stride = cfg[2], o.backend = backend;
    Conv2d conv(c, o);
    conv.weight().value.copy_from(w);
    conv.bias().value.copy_from(f.get(c + ".b"));
    conv.to(ctx);
    Tensor y = conv.forward(ctx, on(ctx, f.get(c + ".x")));
    zero_grad(ctx, conv.params());
    Tensor dx = conv.backward(ctx, on(ctx, f.get(c + ".gy")));
    ctx.synchronize();
    require_close(y.to(Device::cpu()), f.get(c + ".y"), 1e-4, 1e-4, c + " y");
    require_close(dx.to(Device::cpu()), f.get(c + ".dx"), 1e-4, 1e-4, c + " dx");
    require_close(conv.weight().grad.to(Device::cpu()), f.get(c + ".dw"), 1e-3, 1e-4, c + " dw");
    require_close(conv.bias().grad.to(Device::cpu()), f.get(c + ".db"), 1e-3, 1e-4, c + " db");
  }
}

void pool_linear_loss_fixtures(Context& ctx) {
  TensorFile p = load_safetensors(fixture("maxpool2d.safetensors"));
  for (std::string c : {"pool_odd", "pool_even", "pool_tiny"}) {
    MaxPool2d pool(c);
    Tensor y = pool.forward(ctx, on(ctx, p.get(c + ".x")));
    Tensor dx = pool.backward(ctx, on(ctx, p.get(c + ".gy")));
    REQUIRE(y.shape() == p.get(c + ".y").shape());  // ceil-mode output size
    require_close(y.to(Device::cpu()), p.get(c + ".y"), 0, 0, c + " y");
    require_close(dx.to(Device::cpu()), p.get(c + ".dx"), 1e-6, 1e-6, c + " dx");
  }

  TensorFile l = load_safetensors(fixture("linear.safetensors"));
  Linear fc("fc", 36, 10);
  fc.weight().value.copy_from(l.get("w"));
  fc.bias().value.copy_from(l.get("b"));
  fc.to(ctx);
  Tensor y = fc.forward(ctx, on(ctx, l.get("x")));
  zero_grad(ctx, fc.params());
  Tensor dx = fc.backward(ctx, on(ctx, l.get("gy")));
  REQUIRE(dx.shape() == l.get("x").shape());
  require_close(y.to(Device::cpu()), l.get("y"), 1e-5, 1e-5, "linear y");
  require_close(dx.to(Device::cpu()), l.get("dx"), 1e-5, 1e-5, "linear dx");
  require_close(fc.weight().grad.to(Device::cpu()), l.get("dw"), 1e-5, 1e-5, "linear dw");
  require_close(fc.bias().grad.to(Device::cpu()), l.get("db"), 1e-5, 1e-5, "linear db");

  TensorFile ce = load_safetensors(fixture("cross_entropy.safetensors"));
  LossResult r = softmax_cross_entropy(ctx, on(ctx, ce.get("logits")), on(ctx, ce.get("labels")));
  REQUIRE(r.loss == Approx(ce.get("loss").item()).epsilon(1e-5));
  require_close(r.grad.to(Device::cpu()), ce.get("grad"), 1e-6, 1e-4, "cross-entropy grad");
  require_close(softmax(ctx, on(ctx, ce.get("logits"))).to(Device::cpu()), ce.get("softmax"), 1e-6, 1e-4, "softmax");

  TensorFile sl = load_safetensors(fixture("smooth_l1.safetensors"));
  for (std::string c : {"sl1_rpn", "sl1_head"}) {
    std::vector<float> cfg = sl.get(c + ".cfg").to_vector<float>();
    LossResult s = smooth_l1(ctx, on(ctx, sl.get(c + ".pred")), on(ctx, sl.get(c + ".target")),
                             on(ctx, sl.get(c + ".in_w")), on(ctx, sl.get(c + ".out_w")), cfg[0], cfg[1]);
    REQUIRE(s.loss == Approx(sl.get(c + ".loss").item()).epsilon(1e-5));
    require_close(s.grad.to(Device::cpu()), sl.get(c + ".grad"), 1e-6, 1e-5, c + " grad");
  }
}

}  // namespace

TEST_CASE("fixtures: conv2d forward and backward match torch on the CPU", "[layers][fixtures]") {
  Context ctx;
  conv_fixtures(ctx, ConvBackend::Own);
}

TEST_CASE("fixtures: maxpool linear and losses match torch on the CPU", "[layers][fixtures]") {
  Context ctx;
  pool_linear_loss_fixtures(ctx);
}

TEST_CASE("fixtures: conv2d own CUDA kernels match torch", "[layers][fixtures][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context ctx(Device::cuda());
  conv_fixtures(ctx, ConvBackend::Own);
}

TEST_CASE("fixtures: conv2d cuDNN backend matches torch", "[layers][fixtures][gpu]") {
  FRCNN_REQUIRE_GPU();
  FRCNN_REQUIRE_CUDNN();
#if FRCNN_WITH_CUDNN
  Context ctx(Device::cuda());
  conv_fixtures(ctx, ConvBackend::Cudnn);
#endif
}

TEST_CASE("fixtures: maxpool linear and losses match torch on CUDA", "[layers][fixtures][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context ctx(Device::cuda());
  pool_linear_loss_fixtures(ctx);
}
