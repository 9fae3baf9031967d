// The assembled detector: shapes for both shipped configs, the converted backbone
// against torch, the wiring of every loss gradient (finite differences through the
// whole model), frozen parts, save/load.
#include <catch2/catch.hpp>
#include <limits>

#include "engine/allocator.h"
#include "engine/safetensors.h"
#include "kernels/precision.h"
#include "layers/faster_rcnn.h"
#include "layers/linear.h"
#include "tests/gpu.h"
#include "tests/layers/detect_checks.h"
#include "tests/layers/grad_check.h"
#include "tests/layers/small_detector.h"
#include "tests/test_util.h"

using namespace frcnn;

namespace {

Tensor gt_boxes() { return Tensor::from_vector<float>({2, 4}, {10, 12, 60, 70, 50, 20, 120, 90}); }
Tensor gt_labels() { return Tensor::from_vector<int32_t>({2}, {1, 3}); }

// Proposals around the GT boxes and elsewhere, in a 96 x 128 image.
Tensor some_proposals() {
  std::vector<float> v;
  const float g[2][4] = {{10, 12, 60, 70}, {50, 20, 120, 90}};
  for (int i = 0; i < 12; ++i)
    for (const auto& b : g) {
      float d = 2.f * float(i % 5) - 4.f;
      v.insert(v.end(), {b[0] + d, b[1] - d * 0.5f, b[2] + d * 0.7f, b[3] + d});
    }
  for (int i = 0; i < 16; ++i) {
    float x = float(i * 7 % 90), y = float(i * 11 % 60);
    v.insert(v.end(), {x, y, x + 20.f + float(i), y + 18.f + float(i % 4)});
  }
  return Tensor::from_vector<float>({int64_t(v.size() / 4), 4}, v);
}

// One image's step of `parts` with test::small_detector_config()'s 32 RoIs per image.
TrainStep step_of(TrainParts parts, float loss_scale = 1.f) {
  TrainStep s;
  s.parts = parts;
  s.loss_scale = loss_scale;
  s.rois_per_image = 32;
  return s;
}

Param* find_param(FasterRCNN& m, const std::string& name) {
  for (Param* p : m.params())
    if (p->name == name) return p;
  FAIL("no parameter " << name);
  return nullptr;
}

// For each named parameter: the objective's analytic gradient reaches it (non-zero) and
// matches central differences.
void check_param_gradients(FasterRCNN& m, std::initializer_list<const char*> names,
                           const std::function<double()>& objective, const test::GradCheckOptions& o) {
  for (const char* name : names) {
    objective();  // leaves the analytic gradient in p->grad
    Param* p = find_param(m, name);
    std::vector<float> analytic = p->grad.to_vector<float>();
    double norm = 0;
    for (float g : analytic) norm += std::fabs(g);
    INFO(name);
    REQUIRE(norm > 0);
    test::check_gradient(name, p->value, analytic, objective, o);
  }
}

}  // namespace

TEST_CASE("faster rcnn: detect and propose give well-formed outputs on the tiny shapes", "[model]") {
  Context ctx;
  FasterRCNN m(test::small_detector_config());
  m.init(ctx, 1, "msra");
  Tensor img = test::random_tensor({1, 3, 96, 128}, 3, -100, 100);
  DetectResult r = m.detect(ctx, img, 0.5f);
  REQUIRE(r.num_proposals > 0);
  REQUIRE(r.num_proposals <= 50);
  REQUIRE(r.boxes.ndim() == 2);
  REQUIRE(r.boxes.size(1) == 4);
  REQUIRE(r.boxes.size(0) == r.scores.size(0));
  REQUIRE(r.boxes.size(0) <= 100);
  for (int32_t l : r.labels.to_vector<int32_t>()) REQUIRE((l >= 1 && l <= 3));
  // Boxes come back in original-image coordinates (input 96 x 128 at scale 0.5).
  for (float v : r.boxes.to_vector<float>()) REQUIRE((v >= 0.f && v <= 256.f));
  REQUIRE(r.timing.total_ms >= r.timing.conv_ms);
  Proposals p = m.propose(ctx, img, 0.5f, 0, 2000);
  REQUIRE(p.boxes.size(0) > 0);
  auto s = p.scores.to_vector<float>();
  REQUIRE(std::is_sorted(s.rbegin(), s.rend()));
}

TEST_CASE("faster rcnn: the paper config has VGG16's parameters and shapes", "[model]") {
  Context ctx;
  ModelConfig cfg;  // defaults: the paper's VGG16, 21 classes
  FasterRCNN m(cfg);
  int64_t n = 0;
  for (Param* p : m.params()) n += p->value.numel();
  // VGG16 conv1_1..conv5_3: 14,714,688; RPN: 512*512*9+512 + 512*18+18 + 512*36+36;
  // fc6 25088*4096+4096; fc7 4096*4096+4096; cls 4096*21+21; bbox 4096*84+84.
  const int64_t expected = 14714688 + (2359808 + 9234 + 18468) + (102760448 + 4096) + (16777216 + 4096) +
                           (86016 + 21) + (344064 + 84);
  REQUIRE(n == expected);
  REQUIRE(find_param(m, "fc6.weight")->value.shape() == Shape{4096, 25088});
  REQUIRE(find_param(m, "rpn_cls_score.weight")->value.shape() == Shape{18, 512, 1, 1});
  REQUIRE(find_param(m, "bbox_pred.weight")->value.shape() == Shape{84, 4096});
  // conv1/conv2 are frozen by default (the paper).
  REQUIRE(find_param(m, "conv2_2.weight")->frozen);
  REQUIRE_FALSE(find_param(m, "conv3_1.weight")->frozen);
}

TEST_CASE("faster rcnn: converted VGG16 weights reproduce torch's conv5_3 and fc7", "[model]") {
  Context ctx;
  ModelConfig cfg = test::small_detector_config();
  cfg.roi.fc_dim = 64;  // the fixture's classifier width
  FasterRCNN m(cfg);
  m.init(ctx, 1, "msra");
  const std::string weights = FRCNN_FIXTURES_DIR "/convert/vgg16_small.safetensors";
  m.load_imagenet(ctx, weights);
  TensorFile io = load_safetensors(FRCNN_FIXTURES_DIR "/convert/vgg16_small_io.safetensors");
  m.backbone().set_training(false);
  Tensor feat = m.backbone().forward(ctx, io.get("input").reshape({1, 3, 64, 80}));
  test::require_close(feat, io.get("conv5_3"), 1e-4, 1e-4, "conv5_3");
  // fc6/fc7 (+ReLU) on torch's 7x7 classifier input.
  Linear fc6("fc6", 32 * 7 * 7, 64), fc7("fc7", 64, 64);
  load_params(ctx, weights, fc6.params());
  load_params(ctx, weights, fc7.params());
  fc6.set_training(false);
  fc7.set_training(false);
  auto relu = [](Tensor t) {
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = std::max(t.data<float>()[i], 0.f);
    return t;
  };
  Tensor h = relu(fc7.forward(ctx, relu(fc6.forward(ctx, io.get("fc_input").reshape({1, -1})))));
  test::require_close(h, io.get("fc7").reshape({1, 64}), 1e-4, 1e-4, "fc7");
}

TEST_CASE("faster rcnn: RPN loss gradients match finite differences through the model", "[model]") {
  Context ctx;
  FasterRCNN m(test::small_detector_config());
  m.init(ctx, 2, "msra");
  Tensor img = test::random_tensor({1, 3, 96, 128}, 4, -1, 1);
  CounterRng rng(5, 17);
  const float S = 1000.f;  // scale the loss so its gradients are O(1) for the checker
  auto objective = [&] {
    zero_grad(ctx, m.params());
    StepLosses l =
        m.train_image(ctx, img, gt_boxes(), gt_labels(), 1.f, Tensor(), rng, 0, step_of(TrainParts::Rpn, S));
    return S * (l.rpn_cls + l.rpn_bbox);
  };
  test::GradCheckOptions o;
  o.max_checks = 25;
  o.eps = 1e-2;  // the loss comes back in float: a smaller step drowns in its rounding
  o.tol = 3e-2;
  // Through the whole random network many points sit next to a ReLU or RoI-pool switch;
  // those are detected and skipped, and every point that is checked must agree.
  o.max_skip_fraction = 0.35;
  check_param_gradients(m, {"rpn_cls_score.weight", "rpn_bbox_pred.weight", "rpn_conv.weight", "conv5_3.weight"},
                        objective, o);
}

TEST_CASE("faster rcnn: head loss gradients reach fc and conv layers through RoI pooling", "[model]") {
  Context ctx;
  FasterRCNN m(test::small_detector_config());
  m.init(ctx, 3, "msra");
  Tensor img = test::random_tensor({1, 3, 96, 128}, 6, -1, 1);
  Tensor props = some_proposals();
  CounterRng rng(9, 3);
  const float S = 1000.f;
  auto objective = [&] {
    zero_grad(ctx, m.params());
    StepLosses l =
        m.train_image(ctx, img, gt_boxes(), gt_labels(), 1.f, props, rng, 0, step_of(TrainParts::Head, S));
    REQUIRE(l.fg_rois > 0);
    return S * (l.cls + l.bbox);
  };
  test::GradCheckOptions o;
  o.max_checks = 25;
  o.eps = 1e-2;  // the loss comes back in float: a smaller step drowns in its rounding
  o.tol = 3e-2;
  // Through the whole random network many points sit next to a ReLU or RoI-pool switch;
  // those are detected and skipped, and every point that is checked must agree.
  o.max_skip_fraction = 0.35;
  check_param_gradients(m, {"bbox_pred.weight", "cls_score.weight", "fc7.weight", "fc6.weight", "conv5_3.weight"},
                        objective, o);
}

TEST_CASE("faster rcnn: frozen blocks receive no gradient", "[model]") {
  Context ctx;
  ModelConfig cfg = test::small_detector_config();
  cfg.backbone.frozen_blocks = 2;
  FasterRCNN m(cfg);
  m.init(ctx, 4, "msra");
  Tensor img = test::random_tensor({1, 3, 96, 128}, 7, -50, 50);
  CounterRng rng(1);
  zero_grad(ctx, m.params());
  m.train_image(ctx, img, gt_boxes(), gt_labels(), 1.f, Tensor(), rng, 0, step_of(TrainParts::Joint, 1.f));
  auto grad_sum = [&](const std::string& n) {
    double s = 0;
    for (float g : find_param(m, n)->grad.to_vector<float>()) s += std::fabs(g);
    return s;
  };
  REQUIRE(grad_sum("conv1_1.weight") == 0);
  REQUIRE(grad_sum("conv2_2.weight") == 0);
  REQUIRE(grad_sum("conv3_1.weight") > 0);
  REQUIRE(grad_sum("fc6.weight") > 0);
  REQUIRE(grad_sum("rpn_conv.weight") > 0);
  // Every block frozen: the backbone gets nothing, the heads still learn.
  m.backbone().freeze_blocks(5);
  zero_grad(ctx, m.params());
  m.train_image(ctx, img, gt_boxes(), gt_labels(), 1.f, Tensor(), rng, 0, step_of(TrainParts::Joint, 1.f));
  REQUIRE(grad_sum("conv5_3.weight") == 0);
  REQUIRE(grad_sum("rpn_conv.weight") > 0);
  REQUIRE(grad_sum("bbox_pred.weight") > 0);
}

TEST_CASE("faster rcnn: the RoI head draws a different dropout mask for each image of a batch", "[model]") {
  Context ctx;
  ModelConfig cfg = test::small_detector_config();
  cfg.roi.dropout = 0.5f;
  FasterRCNN m(cfg);
  m.init(ctx, 6, "msra");
  m.head().set_training(true);
  Tensor feat = test::random_tensor({1, 32, 6, 8}, 8, 0, 1);
  Tensor rois = Tensor::from_vector<float>({2, 5}, {0, 0, 0, 60, 50, 0, 30, 10, 120, 90});
  CounterRng rng(4, 11);
  auto scores = [&](uint32_t slot) {
    m.head().set_rng(&rng, slot);
    return m.head().forward(ctx, feat, rois).cls_score.to_vector<float>();
  };
  const std::vector<float> image0 = scores(0), image1 = scores(1);
  REQUIRE(image0 != image1);
  REQUIRE(scores(0) == image0);  // the same image slot at the same step: the same mask
}

TEST_CASE("faster rcnn: a Fast R-CNN minibatch samples model.roi.batch / images RoIs per image", "[model]") {
  Context ctx;
  ModelConfig cfg = test::small_detector_config();
  cfg.roi.batch = 64;
  FasterRCNN m(cfg);
  m.init(ctx, 7, "msra");
  Tensor img = test::random_tensor({1, 3, 96, 128}, 9, -1, 1);
  // Plenty of candidates: jittered copies of the GT boxes and 150 random boxes.
  std::vector<float> v = some_proposals().to_vector<float>();
  Tensor r = test::random_tensor({150, 4}, 10, 0, 1);
  for (int i = 0; i < 150; ++i) {
    const float* q = r.data<float>() + 4 * i;
    const float x = q[0] * 90, y = q[1] * 60;
    v.insert(v.end(), {x, y, x + 8 + q[2] * 30, y + 8 + q[3] * 30});
  }
  Tensor props = Tensor::from_vector<float>({int64_t(v.size() / 4), 4}, v);
  CounterRng rng(3, 1);
  for (int images : {1, 2}) {
    const TrainStep step = minibatch_step(TrainParts::Head, cfg, images, 0.1f);
    REQUIRE(step.rois_per_image == 64 / images);
    REQUIRE(step.loss_scale == 1.f / float(images));
    REQUIRE(step.bg_iou_lo == 0.1f);
    zero_grad(ctx, m.params());
    StepLosses l = m.train_image(ctx, img, gt_boxes(), gt_labels(), 1.f, props, rng, 0, step);
    REQUIRE(l.rois == 64 / images);
    REQUIRE(l.fg_rois > 0);
    REQUIRE(l.fg_rois <= int(std::lround(0.25 * (64 / images))));
  }
  REQUIRE_THROWS_WITH(minibatch_step(TrainParts::Head, cfg, 3, 0.f), Catch::Contains("multiple of the 3 images"));
  REQUIRE(minibatch_step(TrainParts::Rpn, cfg, 3, 0.f).loss_scale == 1.f / 3.f);  // the RPN samples no RoIs
}

TEST_CASE("faster rcnn: background RoIs start at the step's bg_iou_lo", "[model]") {
  Context ctx;
  FasterRCNN m(test::small_detector_config());
  // One GT box [0, 0, 99, 99]; 10 proposals overlapping it at IoU ~0.05 and 10 at ~0.3.
  Tensor gt = Tensor::from_vector<float>({1, 4}, {0, 0, 99, 99});
  Tensor labels = Tensor::from_vector<int32_t>({1}, {2});
  std::vector<float> v;
  for (int i = 0; i < 10; ++i) {
    v.insert(v.end(), {float(i), 0, float(i) + 99, 4});  // IoU 5/100 * (100-i)/(100+i): < 0.1
    v.insert(v.end(), {float(i), 0, float(i) + 99, 29});  // IoU ~0.3 * (100-i)/(100+i): >= 0.1 for i < 10
  }
  Tensor props = Tensor::from_vector<float>({20, 4}, v);
  CounterRng rng(1, 2);
  auto backgrounds = [&](float bg_lo) {
    ProposalTargets t = m.head().sample(ctx, props, gt, labels, 64, bg_lo, rng.key(RngPurpose::RoiSampling, 0));
    int bg = 0;
    for (int32_t l : t.labels.to_vector<int32_t>()) bg += l == 0;
    return bg;
  };
  REQUIRE(backgrounds(0.0f) == 20);  // approximate joint training (py-faster-rcnn's end-to-end yml)
  REQUIRE(backgrounds(0.1f) == 10);  // alt-opt: BG_THRESH_LO 0.1
}

TEST_CASE("faster rcnn: frozen blocks keep no activations, so a frozen-backbone step peaks lower", "[model]") {
  Context ctx;
  const Device cpu = Device::cpu();
  Tensor img = test::random_tensor({1, 3, 96, 128}, 12, -1, 1);
  CounterRng rng(2, 5);
  // Bytes a training-mode backbone forward leaves allocated (its output and what its
  // layers keep for backward), and the peak above the start of one RPN training step.
  auto measure = [&](int frozen_blocks, size_t& held, size_t& step_peak) {
    ModelConfig cfg = test::small_detector_config();
    cfg.backbone.frozen_blocks = frozen_blocks;
    FasterRCNN m(cfg);
    m.init(ctx, 8, "msra");
    zero_grad(ctx, m.params());  // gradients allocated up front in both runs
    m.backbone().set_training(true);
    size_t before = allocator_stats(cpu).bytes_in_use;
    {
      Tensor feat = m.backbone().forward(ctx, img);
      held = allocator_stats(cpu).bytes_in_use - before;
    }
    m.to(ctx);  // drops the saved activations
    before = allocator_stats(cpu).bytes_in_use;
    reset_allocator_peak(cpu);
    m.train_image(ctx, img, gt_boxes(), gt_labels(), 1.f, Tensor(), rng, 0, step_of(TrainParts::Rpn));
    step_peak = allocator_stats(cpu).peak_bytes_in_use - before;
  };
  size_t held0 = 0, peak0 = 0, held2 = 0, peak2 = 0;
  measure(0, held0, peak0);
  measure(2, held2, peak2);
  // conv1_2's and conv2_2's inputs (8 x 96 x 128 and 16 x 48 x 64 floats) are kept only
  // for the backward of blocks 1-2: with those blocks frozen they must not be.
  const size_t block12_inputs = (8 * 96 * 128 + 16 * 48 * 64) * sizeof(float);
  INFO("held: unfrozen " << held0 << " B, conv1-2 frozen " << held2 << " B");
  REQUIRE(held0 >= held2 + block12_inputs);
  INFO("step peak: unfrozen " << peak0 << " B, conv1-2 frozen " << peak2 << " B");
  REQUIRE(peak2 < peak0);
}

TEST_CASE("faster rcnn: save and load round trip and refuse other classes", "[model]") {
  Context ctx;
  auto dir = test::temp_dir("model_io");
  FasterRCNN a(test::small_detector_config());
  a.init(ctx, 5, "msra");
  auto path = (dir / "m.safetensors").string();
  a.save(path, {{"note", "test"}});
  FasterRCNN b(test::small_detector_config());
  b.init(ctx, 6, "msra");
  b.load(ctx, path);
  REQUIRE(find_param(b, "fc6.weight")->value.to_vector<float>() == find_param(a, "fc6.weight")->value.to_vector<float>());
  ModelConfig other = test::small_detector_config();
  other.classes = {"x", "y", "z"};
  FasterRCNN c(other);
  REQUIRE_THROWS_WITH(c.load(ctx, path), Catch::Contains(path) && Catch::Contains("trained for classes [a,b,c]"));
  ModelConfig wider = test::small_detector_config();
  wider.roi.fc_dim = 48;
  FasterRCNN d(wider);
  REQUIRE_THROWS_WITH(d.load(ctx, path), Catch::Contains(path) && Catch::Contains("fc6.weight"));
  // A NaN in one weight (a diverged run saved, a corrupt file) is refused naming the tensor.
  Param* p = find_param(a, "conv1_1.weight");
  REQUIRE(p != nullptr);
  std::vector<float> v = p->value.to_vector<float>();
  v[3] = std::numeric_limits<float>::quiet_NaN();
  p->value = Tensor::from_vector<float>(p->value.shape(), v);
  a.save(path);
  REQUIRE_THROWS_WITH(b.load(ctx, path), Catch::Contains(path) && Catch::Contains("'conv1_1.weight'") &&
                                             Catch::Contains("non-finite"));
  REQUIRE_THROWS_WITH(b.load_imagenet(ctx, path), Catch::Contains("non-finite"));
}

namespace {

// At least 90 % of a's detections matched in b and of b's in a: scores within 1e-2, boxes
// within 1 px + 1 % (the tolerance of two reduced-precision runs, derived where it is used).
void require_mostly_matched(const DetectResult& a, const char* a_name, const DetectResult& b, const char* b_name) {
  const size_t na = size_t(a.scores.numel()), nb = size_t(b.scores.numel());
  REQUIRE(na > 0);
  const size_t ab =
      test::match_detections(a.boxes, a.scores, a.labels, b.boxes, b.scores, b.labels, 1e-2f, 1.f, 1e-2f, false);
  const size_t ba =
      test::match_detections(b.boxes, b.scores, b.labels, a.boxes, a.scores, a.labels, 1e-2f, 1.f, 1e-2f, false);
  INFO("matched " << ab << " of " << na << " " << a_name << ", " << ba << " of " << nb << " " << b_name
                  << " detections");
  REQUIRE(10 * ab >= 9 * na);
  REQUIRE(10 * ba >= 9 * nb);
}

// The small detector (seed 7) on a CUDA context in bf16, and one seeded 96x128 image there.
struct Bf16Detector {
  Context gpu{Device::cuda()};
  FasterRCNN m{test::small_detector_config()};
  Tensor img;
  Bf16Detector() {
    gpu.set_math_mode(MathMode::Bf16);
    m.init(gpu, 7, "msra");
    m.to(gpu);
    img = test::random_tensor({1, 3, 96, 128}, 8, -100, 100).to(gpu.device(), gpu.stream());
  }
};

}  // namespace

TEST_CASE("faster rcnn: CUDA detections match the CPU, in fp32, tf32 and bf16", "[model][gpu][precision]") {
  FRCNN_REQUIRE_GPU();
  Context cpu;
  Context gpu(Device::cuda());
  FasterRCNN m(test::small_detector_config());
  m.init(cpu, 7, "msra");
  Tensor img = test::random_tensor({1, 3, 96, 128}, 8, -100, 100);
  for (MathMode p : {MathMode::Fp32, MathMode::Tf32, MathMode::Bf16}) {
    INFO(math_mode_name(p));
    // The same precision on both devices: in tf32 / bf16 the operands are rounded alike
    // (kernels/tensor_formats.h), so in every mode only the FP32 summation order differs.
    cpu.set_math_mode(p);
    gpu.set_math_mode(p);
    m.to(cpu);
    DetectResult rc = m.detect(cpu, img, 1.f);
    m.to(gpu);
    DetectResult rg = m.detect(gpu, img.to(Device::cuda()), 1.f);
    REQUIRE(rc.num_proposals == rg.num_proposals);
    if (p == MathMode::Fp32) {
      // The same detections, matched one to one: the devices' convolutions sum in different
      // orders, so near-saturated scores (1 vs 1 - 2^-24) may swap two detections' places.
      REQUIRE(test::require_same_detections(rc.boxes, rc.scores, rc.labels, rg.boxes, rg.scores, rg.labels, 1e-4f,
                                            1e-2f, 1e-3f) > 0);
      continue;
    }
    // In tf32 / bf16 every layer rounds its input to the format, so a summation-order
    // difference of one FP32 ulp can move an operand by one TF32 / BF16 ulp (2^-11 / 2^-8
    // relative) and it compounds over 13 layers: measured here, conv5_3 differs by 8e-4
    // relative in tf32 and boxes by up to 0.25 px, and a proposal can cross the NMS
    // (one of 28 detections replaced). So: scores within 1e-2, boxes within 1 px + 1 %,
    // and at least 90 % of the detections matched both ways.
    require_mostly_matched(rc, "CPU", rg, "CUDA");
  }
}

// cuDNN in bf16 (BF16 data, its outputs rounded to BF16 as well) against our bf16 conv on
// the same GPU: the tolerances of the test above (the rounding of one more BF16 ulp per
// layer compounds the same way), and the model's Linear weights' BF16 copies made once.
TEST_CASE("faster rcnn: cuDNN bf16 detections match our bf16 convolution's", "[model][gpu][precision][cudnn]") {
  FRCNN_REQUIRE_GPU();
  FRCNN_REQUIRE_CUDNN();
  Bf16Detector d;
  FasterRCNN& m = d.m;
  m.set_conv_backend(ConvBackend::Own);
  const DetectResult own = m.detect(d.gpu, d.img, 1.f);
  m.set_conv_backend(ConvBackend::Cudnn);
  const DetectResult cud = m.detect(d.gpu, d.img, 1.f);
  require_mostly_matched(own, "own", cud, "cuDNN");
  REQUIRE(find_param(m, "conv1_1.weight")->lowp.value.dtype() == DType::BF16);  // cuDNN read the BF16 copy
  REQUIRE(find_param(m, "fc6.weight")->lowp.value.dtype() == DType::BF16);
}

// Eval-mode backbone: each conv*_2 / conv*_3 + pool pair runs as one op
// (Conv2d::forward_pooled; on CUDA the pool is in our conv's epilogue) and must give the
// values of the unfused layers, bit for bit, on the CPU and with our CUDA kernels in every
// precision. A frozen block in training mode is in eval mode too, so it fuses as well.
namespace {
// The backbone's conv5_3 output for one seeded input, on ctx's device, back on the CPU as
// F32 values (a BF16 output widened: exact); `dtype` receives the type it was stored in.
Tensor small_backbone_output(Context& ctx, bool fuse, bool training, bool lowp = true, DType* dtype = nullptr) {
  BackboneConfig cfg;
  cfg.widths = {4, 8, 8, 12, 12};
  cfg.frozen_blocks = 0;
  Vgg16Backbone bb(cfg);
  Context cpu;
  bb.init(cpu, 7, "msra");
  bb.to(ctx);
  if (training) bb.freeze_blocks(2);
  bb.set_training(training);
  bb.set_fuse_pool(fuse);
  bb.set_lowp_activations(lowp);
  const Tensor x = test::random_tensor({2, 3, 37, 45}, 11).to(ctx.device());
  Tensor y = bb.forward(ctx, x);
  if (dtype) *dtype = y.dtype();
  if (y.dtype() == DType::BF16) y = bf16_to_f32(ctx, y);
  if (y.is_cuda()) device_synchronize();
  return y.to(Device::cpu());
}
}  // namespace

TEST_CASE("vgg16 backbone: fused conv + pool in eval mode gives the unfused values on the CPU", "[model]") {
  Context cpu;
  const Tensor ref = small_backbone_output(cpu, false, false);
  REQUIRE(ref.shape() == Shape{2, 12, 3, 3});  // 37x45 -> 19x23 -> 10x12 -> 5x6 -> 3x3 (ceil)
  REQUIRE(small_backbone_output(cpu, true, false).to_vector<float>() == ref.to_vector<float>());
}

TEST_CASE("vgg16 backbone: fused conv + pool in eval mode gives the unfused values on CUDA", "[model][gpu]") {
  FRCNN_REQUIRE_GPU();
  const auto run = [](Context& c, bool fuse, bool training) { return small_backbone_output(c, fuse, training); };
  Context gpu(Device::cuda());
  for (MathMode m : {MathMode::Fp32, MathMode::Tf32, MathMode::Bf16}) {
    INFO(math_mode_name(m));
    gpu.set_math_mode(m);
    const Tensor unfused = run(gpu, false, false);
    REQUIRE(run(gpu, true, false).to_vector<float>() == unfused.to_vector<float>());
    // Training with blocks 1-2 frozen: those run in eval mode, fused; the rest unfused.
    REQUIRE(run(gpu, true, true).to_vector<float>() == run(gpu, false, true).to_vector<float>());
  }
}

// bf16 inference on CUDA stores the activations in BF16 (Vgg16Backbone / RpnHead::
// set_lowp_activations, conv2d_layer.h): conv5_3 is then the F32-stored one rounded to
// BF16, bit for bit, fused or not (the unfused path max-pools BF16 maps): what every
// consumer reads of it is the same; a training backbone stores F32.
TEST_CASE("vgg16 backbone: BF16 activations in bf16 inference give the F32-stored values", "[model][gpu][precision]") {
  FRCNN_REQUIRE_GPU();
  Context gpu(Device::cuda());
  gpu.set_math_mode(MathMode::Bf16);
  for (bool fuse : {true, false}) {
    INFO("fuse " << fuse);
    DType stored = DType::F32;
    const Tensor f32 = small_backbone_output(gpu, fuse, false, /*lowp=*/false, &stored);
    REQUIRE(stored == DType::F32);
    const Tensor b16 = small_backbone_output(gpu, fuse, false, /*lowp=*/true, &stored);
    REQUIRE(stored == DType::BF16);
    Context cpu;
    REQUIRE(b16.to_vector<float>() == round_to_precision(cpu, f32, MathMode::Bf16).to_vector<float>());
    REQUIRE(b16.to_vector<float>() != f32.to_vector<float>());  // it was rounded
  }
  DType stored = DType::BF16;
  small_backbone_output(gpu, true, /*training=*/true, true, &stored);
  REQUIRE(stored == DType::F32);
  // fp32 / tf32 store F32 whatever the switch says.
  gpu.set_math_mode(MathMode::Tf32);
  small_backbone_output(gpu, true, false, true, &stored);
  REQUIRE(stored == DType::F32);
}

TEST_CASE("faster rcnn: bf16 detections with BF16 activations equal those with F32 ones, bit for bit",
          "[model][gpu][precision]") {
  FRCNN_REQUIRE_GPU();
  Bf16Detector d;
  FasterRCNN& m = d.m;
  for (bool graphs : {false, true}) {
    INFO("graphs " << graphs);
    m.set_cuda_graphs(graphs);
    m.set_lowp_activations(false);
    const DetectResult f32 = m.detect(d.gpu, d.img, 1.f);
    m.set_lowp_activations(true);
    for (int i = 0; i < 3; ++i) {  // eager, captured, replayed
      const DetectResult b16 = m.detect(d.gpu, d.img, 1.f);
      REQUIRE(b16.scores.numel() > 0);
      test::require_identical(b16, f32);
    }
  }
}
