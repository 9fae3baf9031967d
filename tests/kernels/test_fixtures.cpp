// Golden fixtures from torchvision 0.14 (scripts/fixtures/gen_kernels.py).
#include "engine/safetensors.h"
#include "kernels/box_ops.h"
#include "kernels/nms.h"
#include "kernels/roi_pool.h"
#include "tests/gpu.h"
#include "tests/kernels/kernel_test_util.h"

using namespace frcnn;
using namespace frcnn::test;

namespace {
std::string fixture(const char* name) { return std::string(FRCNN_FIXTURES_DIR) + "/kernels/" + name; }

// grad_out of the fixture: float32(((i * 7919) % 2003) / 2003 - 0.5)
Tensor grad_pattern(const Shape& s) {
  std::vector<float> v(size_t(shape_numel(s)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(int64_t(i) * 7919 % 2003) / 2003.0f - 0.5f;
  return Tensor::from_vector<float>(s, v);
}

void check_box_iou(Context& ctx) {
  TensorFile f = load_safetensors(fixture("box_iou.safetensors"));
  Tensor a = f.get("a", {300, 4}).to(ctx.device(), ctx.stream()), b = f.get("b", {200, 4}).to(ctx.device(), ctx.stream());
  require_close(host(box_iou(ctx, a, b)), f.get("iou", {300, 200}), 1e-6, 1e-5, "box_iou vs torchvision");
}

void check_nms(Context& ctx) {
  TensorFile f = load_safetensors(fixture("nms.safetensors"));
  Tensor b = f.get("boxes", {6000, 4}).to(ctx.device(), ctx.stream());
  Tensor s = f.get("scores", {6000}).to(ctx.device(), ctx.stream());
  for (auto [name, t] : {std::pair{"keep_03", 0.3f}, std::pair{"keep_05", 0.5f}, std::pair{"keep_07", 0.7f}}) {
    INFO(name);
    REQUIRE(vec<int32_t>(nms(ctx, b, s, t)) == vec<int32_t>(f.get(name)));
  }
}

void check_roi_pool(Context& ctx) {
  TensorFile f = load_safetensors(fixture("roi_pool.safetensors"));
  const Tensor& feat_cpu = f.get("features", {2, 16, 38, 50});
  Tensor feat = feat_cpu.to(ctx.device(), ctx.stream());
  auto fv = vec<float>(feat_cpu);
  for (int R : {128, 300}) {
    INFO(R << " RoIs");
    Tensor rois = f.get("rois_" + std::to_string(R), {R, 5}).to(ctx.device(), ctx.stream());
    RoiPoolResult r = roi_pool_forward(ctx, feat, rois, 7, 7, 1.f / 16);
    auto arg = vec<int32_t>(r.argmax);
    REQUIRE(arg == vec<int32_t>(f.get("argmax_" + std::to_string(R), {R, 16, 7, 7}, DType::I32)));
    // the output is the feature at the switch (0 for empty bins)
    auto out = vec<float>(r.output);
    auto rv = vec<float>(host(rois));
    for (int i = 0; i < R * 16 * 49; ++i) {
      const int ri = i / (16 * 49), c = (i / 49) % 16, n = int(rv[5 * ri]);
      REQUIRE(out[i] == (arg[i] < 0 ? 0.f : fv[(n * 16 + c) * 1900 + arg[i]]));
    }
    Tensor go = grad_pattern({R, 16, 7, 7}).to(ctx.device(), ctx.stream());
    Tensor gf = roi_pool_backward(ctx, go, r.argmax, rois, 2, 16, 38, 50, 1.f / 16);
    require_close(host(gf), f.get("grad_features_" + std::to_string(R), {2, 16, 38, 50}), 1e-6, 1e-5,
                  "roi_pool backward vs torchvision");
  }
}
}  // namespace

TEST_CASE("fixtures: box_iou matches torchvision", "[fixtures]") {
  Context ctx;
  check_box_iou(ctx);
}

TEST_CASE("fixtures: nms keep lists match torchvision exactly", "[fixtures]") {
  Context ctx;
  check_nms(ctx);
}

TEST_CASE("fixtures: roi_pool forward and backward match torchvision", "[fixtures]") {
  Context ctx;
  check_roi_pool(ctx);
}

TEST_CASE("fixtures: CUDA kernels match torchvision", "[fixtures][gpu]") {
  FRCNN_REQUIRE_GPU();
  Context ctx(Device::cuda(0));
  check_box_iou(ctx);
  check_nms(ctx);
  check_roi_pool(ctx);
}
