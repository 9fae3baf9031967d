#include "kernels/conv2d_onednn.h"

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace frcnn {
namespace {

using Tag = dnnl::memory::format_tag;
using Dt = dnnl::memory::data_type;
using Args = std::unordered_map<int, dnnl::memory>;

// One set of primitives per single-image geometry (and bias presence for the forward).
using ConvKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool>;

// The geometry's convolution descriptor arguments: plain NCHW / OIHW memory, symmetric
// padding on the top/left and what the output size implies on the bottom/right (it may
// overhang when the stride does not divide the span, as in the reference).
struct ConvDescs {
  dnnl::memory::desc x, w, b, y;
  dnnl::memory::dims strides, pad_l, pad_r;

  explicit ConvDescs(const Conv2dGeom& g)  // g.N == 1
      : x({1, g.Cin, g.H, g.W}, Dt::f32, Tag::nchw),
        w({g.Cout, g.Cin, g.KH, g.KW}, Dt::f32, Tag::oihw),
        b({g.Cout}, Dt::f32, Tag::x),
        y({1, g.Cout, g.Ho, g.Wo}, Dt::f32, Tag::nchw),
        strides{g.stride, g.stride},
        pad_l{g.pad, g.pad},
        pad_r{(g.Ho - 1) * g.stride + g.KH - g.H - g.pad, (g.Wo - 1) * g.stride + g.KW - g.W - g.pad} {}
};

// The backward passes of one geometry, built on first use. oneDNN wants the forward
// (training) primitive descriptor as a hint to pick matching implementations.
struct ConvBackward {
  ConvDescs d;
  dnnl::convolution_forward::primitive_desc hint;
  std::optional<dnnl::convolution_backward_data> data;
  std::optional<dnnl::convolution_backward_weights> weight;

  ConvBackward(const Conv2dGeom& g, const dnnl::engine& e)
      : d(g),
        hint(dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                             d.x, d.w, d.y, d.strides, d.pad_l, d.pad_r),
             e) {}
};

// Per-context state (Context::cache): the CPU engine, an in-order stream, the primitives,
// and the one-image weight-gradient buffer the backward-weight pass accumulates from.
// Training on images of many sizes (VOC's) meets many geometries: past kMaxGeometries a map
// starts again from empty rather than grow without bound (a primitive dropped and built again
// gives the same bits; oneDNN's own primitive cache makes the rebuild cheap).
struct OneDnnCpu {
  static constexpr size_t kMaxGeometries = 512;

  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::map<ConvKey, dnnl::convolution_forward> forwards;
  std::map<ConvKey, std::unique_ptr<ConvBackward>> backwards;
  std::vector<float> gw_image;

  static ConvKey key_of(const Conv2dGeom& g, bool bias) {
    return {g.Cin, g.H, g.W, g.Cout, g.KH, g.KW, g.pad, g.stride, bias};
  }

  const dnnl::convolution_forward& forward(const Conv2dGeom& g, bool bias) {
    auto it = forwards.find(key_of(g, bias));
    if (it == forwards.end()) {
      if (forwards.size() >= kMaxGeometries) forwards.clear();
      const ConvDescs d(g);
      const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                                 dnnl::algorithm::convolution_direct, d.x, d.w,
                                                 bias ? d.b : dnnl::memory::desc(), d.y, d.strides, d.pad_l, d.pad_r);
      it = forwards.emplace(key_of(g, bias), dnnl::convolution_forward({desc, engine})).first;
    }
    return it->second;
  }

  ConvBackward& backward(const Conv2dGeom& g) {
    auto it = backwards.find(key_of(g, false));
    if (it == backwards.end()) {
      if (backwards.size() >= kMaxGeometries) backwards.clear();
      it = backwards.emplace(key_of(g, false), std::make_unique<ConvBackward>(g, engine)).first;
    }
    return *it->second;
  }

  // A memory object over one image of a caller's buffer (no copy; oneDNN takes non-const handles).
  dnnl::memory wrap(const dnnl::memory::desc& d, const float* p) const {
    return dnnl::memory(d, engine, const_cast<float*>(p));
  }
};

// One image per call in every pass: oneDNN's blocking (and so its summation order) can
// depend on N, and an image's result must not depend on its batch (detect_batch == detect,
// bit for bit). Converts oneDNN's errors into ours, naming the pass.
template <typename Body>
void run_onednn(const char* pass, Body body) {
  try {
    body();
  } catch (const dnnl::error& e) {
    throw std::runtime_error(std::string(pass) + " (CPU, oneDNN): " + e.what() + " (status " +
                             std::to_string(int(e.status)) + ")");
  }
}

// One of a pass's per-image operands: oneDNN argument `arg` over `desc`, image n at
// base + n * image_size.
struct ImageOperand {
  int arg;
  const dnnl::memory::desc& desc;
  const float* base;
  int64_t image_size;
};

// Runs `p` once per image (n < N) with `args` plus image n of `a` and `b`, waits for it (on
// the CPU engine that costs nothing: execution is synchronous), then calls after().
template <typename After>
void run_per_image(OneDnnCpu& dnn, const dnnl::primitive& p, Args args, int64_t N, const ImageOperand& a,
                   const ImageOperand& b, After after) {
  for (int64_t n = 0; n < N; ++n) {
    args[a.arg] = dnn.wrap(a.desc, a.base + n * a.image_size);
    args[b.arg] = dnn.wrap(b.desc, b.base + n * b.image_size);
    p.execute(dnn.stream, args);
    dnn.stream.wait();
    after();
  }
}

Conv2dGeom one_image(const Conv2dGeom& g) {
  Conv2dGeom one = g;
  one.N = 1;
  return one;
}

}  // namespace

void conv2d_forward_onednn(Context& ctx, const Conv2dGeom& g, const float* x, const float* w, const float* b,
                           float* y) {
  run_onednn("conv2d_forward", [&] {
    OneDnnCpu& dnn = ctx.cache<OneDnnCpu>();
    const Conv2dGeom one = one_image(g);
    const ConvDescs d(one);
    const dnnl::convolution_forward& conv = dnn.forward(one, b != nullptr);
    Args args{{DNNL_ARG_WEIGHTS, dnn.wrap(d.w, w)}};
    if (b) args.emplace(DNNL_ARG_BIAS, dnn.wrap(d.b, b));
    run_per_image(dnn, conv, std::move(args), g.N, {DNNL_ARG_SRC, d.x, x, g.Cin * g.H * g.W},
                  {DNNL_ARG_DST, d.y, y, g.Cout * g.Ho * g.Wo}, [] {});
  });
}

void conv2d_backward_data_onednn(Context& ctx, const Conv2dGeom& g, const float* gy, const float* w, float* gx) {
  run_onednn("conv2d_backward_data", [&] {
    OneDnnCpu& dnn = ctx.cache<OneDnnCpu>();
    ConvBackward& bw = dnn.backward(one_image(g));
    if (!bw.data) {
      const dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, bw.d.x, bw.d.w, bw.d.y,
                                                       bw.d.strides, bw.d.pad_l, bw.d.pad_r);
      bw.data.emplace(dnnl::convolution_backward_data::primitive_desc(desc, dnn.engine, bw.hint));
    }
    run_per_image(dnn, *bw.data, {{DNNL_ARG_WEIGHTS, dnn.wrap(bw.d.w, w)}}, g.N,
                  {DNNL_ARG_DIFF_DST, bw.d.y, gy, g.Cout * g.Ho * g.Wo},
                  {DNNL_ARG_DIFF_SRC, bw.d.x, gx, g.Cin * g.H * g.W}, [] {});
  });
}

void conv2d_backward_weight_onednn(Context& ctx, const Conv2dGeom& g, const float* x, const float* gy, float* gw) {
  run_onednn("conv2d_backward_weight", [&] {
    OneDnnCpu& dnn = ctx.cache<OneDnnCpu>();
    ConvBackward& bw = dnn.backward(one_image(g));
    if (!bw.weight) {
      const dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, bw.d.x, bw.d.w,
                                                          bw.d.y, bw.d.strides, bw.d.pad_l, bw.d.pad_r);
      bw.weight.emplace(dnnl::convolution_backward_weights::primitive_desc(desc, dnn.engine, bw.hint));
    }
    // Each image's gradient into gw_image, then gw += it: the reference's accumulation order
    // over images (conv2d_backward_weight_cpu adds image by image too).
    const int64_t w_size = g.Cout * g.Cin * g.KH * g.KW;
    dnn.gw_image.resize(size_t(w_size));
    run_per_image(dnn, *bw.weight, {{DNNL_ARG_DIFF_WEIGHTS, dnn.wrap(bw.d.w, dnn.gw_image.data())}}, g.N,
                  {DNNL_ARG_SRC, bw.d.x, x, g.Cin * g.H * g.W}, {DNNL_ARG_DIFF_DST, bw.d.y, gy, g.Cout * g.Ho * g.Wo},
                  [&] {
                    for (int64_t i = 0; i < w_size; ++i) gw[i] += dnn.gw_image[size_t(i)];
                  });
  });
}

std::string onednn_description() {
  const dnnl_version_t* v = dnnl_version();
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

}  // namespace frcnn
