// Every CUDA op of the engine gives bit-identical results under every schedule of the
// emulated device and with either poison byte. A difference is a race between threads
// of a block (missing barrier), a read of shared or device memory nobody wrote, or an
// order-dependent reduction: exactly what a real GPU would vary on.
#include <cstring>
#include <functional>

#include "engine/context.h"
#include "engine/rng.h"
#include "kernels/anchor_targets.h"
#include "kernels/anchors.h"
#include "kernels/axpy.h"
#include "kernels/box_ops.h"
#include "kernels/conv2d.h"
#include "kernels/dropout.h"
#include "kernels/layout.h"
#include "kernels/losses.h"
#include "kernels/maxpool2d.h"
#include "kernels/nms.h"
#include "kernels/proposal_targets.h"
#include "kernels/proposals.h"
#include "kernels/relu.h"
#include "kernels/roi_pool.h"
#include "kernels/rpn_ops.h"
#include "kernels/sgd_update.h"
#include "tests/emu/emu_test_util.h"
#include "tests/kernels/kernel_test_util.h"

using namespace frcnn;
using namespace frcnn::emu_test;
using namespace frcnn::test;

namespace {

using Bytes = std::vector<unsigned char>;

Bytes bytes_of(const Tensor& t) {
  Tensor h = host(t);
  Bytes b(static_cast<size_t>(h.numel()) * dtype_size(h.dtype()));
  if (!b.empty()) std::memcpy(b.data(), h.raw_data(), b.size());
  return b;
}

// Runs `op` (which returns its outputs) under 3 schedules x 2 poison bytes and requires
// the same bytes every time.
void require_schedule_invariant(const char* name, const std::function<std::vector<Tensor>(Context&)>& op) {
  ScheduleGuard guard;
  Context gpu(Device::cuda());
  std::vector<Bytes> first;
  bool have = false;
  for (int poison : {0xFF, 0x00}) {
    for (const auto& s : all_schedules()) {
      emu::set_schedule(s.order, s.seed);
      emu::set_poison(poison);
      std::vector<Bytes> out;
      for (const Tensor& t : op(gpu)) out.push_back(bytes_of(t));
      INFO(name << " under the " << s.name << " schedule, poison 0x" << std::hex << poison);
      if (!have) {
        first = out;
        have = true;
      }
      REQUIRE(out.size() == first.size());
      for (size_t i = 0; i < out.size(); ++i) {
        INFO("output " << i);
        REQUIRE(out[i] == first[i]);
      }
    }
  }
}

Tensor cuda(const Tensor& t) { return t.to(Device::cuda()); }

}  // namespace

TEST_CASE("emu schedules: convolution forward and both backward passes", "[emu][gpu]") {
  // Odd sizes: partial 128x128 tiles, split-K in the weight gradient.
  for (int k : {1, 3}) {
    Tensor x = cuda(random_tensor({2, 5, 9, 11}, 1)), w = cuda(random_tensor({7, 5, k, k}, 2));
    Tensor b = cuda(random_tensor({7}, 3));
    require_schedule_invariant("conv2d", [&](Context& c) {
      Tensor y = conv2d_forward(c, x, w, b, k / 2, 1);
      Tensor gy = cuda(random_tensor(y.shape(), 4));
      Tensor gx = conv2d_backward_data(c, gy, w, x.shape(), k / 2, 1);
      Tensor gw = Tensor::zeros(w.shape(), DType::F32, c.device(), c.stream());
      Tensor gb = Tensor::zeros(b.shape(), DType::F32, c.device(), c.stream());
      conv2d_backward_weight(c, x, gy, gw, gb, k / 2, 1);
      return std::vector<Tensor>{y, gx, gw, gb};
    });
  }
}

TEST_CASE("emu schedules: pooling, RoI pooling and element-wise ops", "[emu][gpu]") {
  Tensor x = cuda(random_tensor({2, 3, 8, 9}, 5));
  Tensor rois = cuda(Tensor::from_vector<float>({3, 5}, {0, 0, 0, 60, 50, 1, 16, 8, 120, 100, 0, 30, 20, 40, 90}));
  require_schedule_invariant("maxpool, roi_pool, relu, dropout, layout", [&](Context& c) {
    auto mp = maxpool2d_forward(c, x, 2, 2);
    Tensor mgx = maxpool2d_backward(c, cuda(random_tensor(mp.y.shape(), 6)), mp.argmax, x.shape(), 2, 2);
    auto rp = roi_pool_forward(c, x, rois, 7, 7, 1.f / 16);
    Tensor rgx = roi_pool_backward(c, cuda(random_tensor(rp.output.shape(), 7)), rp.argmax, rois, 2, 3, 8, 9, 1.f / 16);
    Tensor r = relu_forward(c, x);
    Tensor rg = relu_backward(c, r, cuda(random_tensor(x.shape(), 8)));
    Tensor d = dropout_apply(c, x, 0.5f, RngKey{11, 12});
    Tensor nhwc = nchw_to_nhwc(c, x);
    return std::vector<Tensor>{mp.y, mp.argmax, mgx, rp.output, rp.argmax, rgx, r, rg, d, nhwc, nhwc_to_nchw(c, nhwc)};
  });
}

TEST_CASE("emu schedules: losses, softmax, axpy and the SGD update", "[emu][gpu]") {
  Tensor logits = cuda(random_tensor({37, 21}, 9, -4.f, 4.f));
  std::vector<int32_t> lab(37);
  for (int i = 0; i < 37; ++i) lab[i] = i % 5 == 0 ? -1 : i % 21;
  Tensor labels = cuda(Tensor::from_vector<int32_t>({37}, lab));
  Tensor pred = cuda(random_tensor({300, 4}, 10)), target = cuda(random_tensor({300, 4}, 11));
  require_schedule_invariant("losses", [&](Context& c) {
    auto ce = softmax_cross_entropy(c, logits, labels);
    auto sl1 = smooth_l1(c, pred, target, Tensor(), Tensor(), 3.f, 256.f);
    Tensor loss_values = Tensor::from_vector<float>({2}, {ce.loss, sl1.loss});
    Tensor y = cuda(random_tensor({1000}, 12)), w = cuda(random_tensor({1000}, 13)), v = cuda(random_tensor({1000}, 14));
    tensor_axpy(c, 0.3f, cuda(random_tensor({1000}, 15)), y);
    sgd_update(c, w, v, cuda(random_tensor({1000}, 16)), 0.01f, 0.9f, 0.0005f);
    return std::vector<Tensor>{loss_values, ce.grad, sl1.grad, softmax(c, logits), y, w, v};
  });
}

TEST_CASE("emu schedules: boxes, NMS, proposals and the two target assigners", "[emu][gpu]") {
  const int n = 700;  // > 10 NMS mask words per row
  Tensor boxes = cuda(random_boxes(n, 17)), other = cuda(random_boxes(50, 18));
  Tensor scores = cuda(distinct_scores(n, 19));
  std::vector<int32_t> cls(n);
  for (int i = 0; i < n; ++i) cls[i] = i % 3;
  Tensor classes = cuda(Tensor::from_vector<int32_t>({n}, cls));
  Tensor probs = cuda(random_tensor({40, 4}, 20, 0.f, 1.f));
  Tensor det_boxes = cuda(random_boxes(160, 21).reshape({40, 16}));
  const int A = 9, fh = 12, fw = 15;
  Tensor anchors = make_anchors(fh, fw, 16, {128, 256, 512}, {0.5f, 1.f, 2.f}, Device::cuda());
  Tensor rpn_logits = cuda(random_tensor({1, 2 * A, fh, fw}, 22));
  Tensor rpn_scores = cuda(distinct_scores(A * fh * fw, 26).reshape({A, fh, fw}));
  Tensor rpn_deltas = cuda(random_tensor({4 * A, fh, fw}, 23, -0.2f, 0.2f));
  Tensor gt = cuda(random_boxes(6, 24, 240.f, 190.f, 30.f, 120.f));
  Tensor gt_labels = cuda(Tensor::from_vector<int32_t>({6}, {1, 2, 3, 1, 2, 3}));
  require_schedule_invariant("box ops, nms, proposals, targets", [&](Context& c) {
    std::vector<Tensor> out{box_iou(c, boxes, other),
                            encode_boxes(c, boxes, boxes),
                            clip_boxes(c, boxes, 500.f, 700.f),
                            min_size_keep(c, boxes, 60.f),
                            nms(c, boxes, scores, 0.5f),
                            batched_nms(c, boxes, scores, classes, 0.5f),
                            rpn_foreground_probs(c, rpn_logits),
                            boxes_to_rois(c, other, 1)};
    out.push_back(decode_boxes(c, other, cuda(random_tensor({50, 4}, 25, -0.5f, 0.5f))));
    Detections d = detect_per_class(c, det_boxes, probs, DetectConfig{0.3f, 0.3f, 100});
    Proposals p = proposal_layer(c, rpn_scores, rpn_deltas, anchors, 190.f, 240.f, 1.f, ProposalConfig{2000, 300, 0.7f, 16.f});
    AnchorTargets at = anchor_targets(c, anchors, gt, 190.f, 240.f, AnchorTargetConfig{}, RngKey{3, 4});
    ProposalTargets pt = proposal_targets(c, p.boxes, gt, gt_labels, 4, ProposalTargetConfig{}, RngKey{5, 6});
    for (const Tensor& t : {d.boxes, d.scores, d.labels, p.boxes, p.scores, at.labels, at.bbox_targets,
                            at.bbox_inside_weights, at.bbox_outside_weights, pt.rois, pt.labels, pt.bbox_targets,
                            pt.bbox_inside_weights})
      out.push_back(t);
    return out;
  });
}

TEST_CASE("emu schedules: random fill and tensor fill", "[emu][gpu]") {
  require_schedule_invariant("fill", [&](Context& c) {
    Tensor u = Tensor::empty({1234}, DType::F32, c.device(), c.stream());
    fill_uniform(u, RngKey{7, 8}, c.stream());
    Tensor f = Tensor::empty({999}, DType::I32, c.device(), c.stream());
    f.fill_(3.0, c.stream());
    return std::vector<Tensor>{u, f};
  });
}
