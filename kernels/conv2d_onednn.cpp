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

#include "kernels/axpy.h"

namespace frcnn {
namespace {

using Tag = dnnl::memory::format_tag;
using Dt = dnnl::memory::data_type;
using Args = std::unordered_map<int, dnnl::memory>;

// One set of primitives per single-image geometry.
using ConvKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;

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

// The primitives of one geometry, each built on first use: the forward with and without
// bias, and the two backward passes, which oneDNN builds from a forward (training)
// primitive descriptor as a hint to pick matching implementations.
struct ConvPrimitives {
  ConvDescs d;
  std::optional<dnnl::convolution_forward> forward[2];  // [with bias]
  std::optional<dnnl::convolution_forward::primitive_desc> hint;
  std::optional<dnnl::convolution_backward_data> data;
  std::optional<dnnl::convolution_backward_weights> weight;

  explicit ConvPrimitives(const Conv2dGeom& g) : d(g) {}

  const dnnl::convolution_forward& forward_of(bool bias, const dnnl::engine& e) {
    std::optional<dnnl::convolution_forward>& f = forward[bias];
    if (!f) {
      const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                                 dnnl::algorithm::convolution_direct, d.x, d.w,
                                                 bias ? d.b : dnnl::memory::desc(), d.y, d.strides, d.pad_l, d.pad_r);
      f.emplace(dnnl::convolution_forward::primitive_desc(desc, e));
    }
    return *f;
  }

  const dnnl::convolution_forward::primitive_desc& hint_of(const dnnl::engine& e) {
    if (!hint)
      hint.emplace(dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                                   dnnl::algorithm::convolution_direct, d.x, d.w, d.y, d.strides,
                                                   d.pad_l, d.pad_r),
                   e);
    return *hint;
  }

  const dnnl::convolution_backward_data& data_of(const dnnl::engine& e) {
    if (!data) {
      const dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, d.x, d.w, d.y, d.strides,
                                                       d.pad_l, d.pad_r);
      data.emplace(dnnl::convolution_backward_data::primitive_desc(desc, e, hint_of(e)));
    }
    return *data;
  }

  const dnnl::convolution_backward_weights& weight_of(const dnnl::engine& e) {
    if (!weight) {
      const dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, d.x, d.w, d.y,
                                                          d.strides, d.pad_l, d.pad_r);
      weight.emplace(dnnl::convolution_backward_weights::primitive_desc(desc, e, hint_of(e)));
    }
    return *weight;
  }
};

// Per-context state (Context::cache): the CPU engine, an in-order stream, the primitives,
// and the one-image weight-gradient buffer the backward-weight pass accumulates from.
// Training on images of many sizes (VOC's) meets many geometries: past kMaxGeometries the
// map starts again from empty rather than grow without bound (a primitive dropped and built
// again gives the same bits; oneDNN's own primitive cache makes the rebuild cheap).
struct OneDnnCpu {
  static constexpr size_t kMaxGeometries = 512;

  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::map<ConvKey, std::unique_ptr<ConvPrimitives>> convs;
  std::vector<float> gw_image;

  // g.N == 1.
  ConvPrimitives& primitives(const Conv2dGeom& g) {
    const ConvKey key{g.Cin, g.H, g.W, g.Cout, g.KH, g.KW, g.pad, g.stride};
    auto it = convs.find(key);
    if (it == convs.end()) {
      if (convs.size() >= kMaxGeometries) convs.clear();
      it = convs.emplace(key, std::make_unique<ConvPrimitives>(g)).first;
    }
    return *it->second;
  }

  // A memory object over one image of a caller's buffer (no copy; oneDNN takes non-const handles).
  dnnl::memory wrap(const dnnl::memory::desc& d, const float* p) const {
    return dnnl::memory(d, engine, const_cast<float*>(p));
  }
};

// Converts oneDNN's errors into ours, naming the pass.
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
// the CPU engine that costs nothing: execution is synchronous), then calls after(). One
// image per call in every pass: oneDNN's blocking (and so its summation order) can depend
// on N, and an image's result must not depend on its batch (detect_batch == detect, bit for
// bit).
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
    ConvPrimitives& p = dnn.primitives(one_image(g));
    Args args{{DNNL_ARG_WEIGHTS, dnn.wrap(p.d.w, w)}};
    if (b) args.emplace(DNNL_ARG_BIAS, dnn.wrap(p.d.b, b));
    run_per_image(dnn, p.forward_of(b != nullptr, dnn.engine), std::move(args), g.N,
                  {DNNL_ARG_SRC, p.d.x, x, g.Cin * g.H * g.W}, {DNNL_ARG_DST, p.d.y, y, g.Cout * g.Ho * g.Wo}, [] {});
  });
}

void conv2d_backward_data_onednn(Context& ctx, const Conv2dGeom& g, const float* gy, const float* w, float* gx) {
  run_onednn("conv2d_backward_data", [&] {
    OneDnnCpu& dnn = ctx.cache<OneDnnCpu>();
    ConvPrimitives& p = dnn.primitives(one_image(g));
    run_per_image(dnn, p.data_of(dnn.engine), {{DNNL_ARG_WEIGHTS, dnn.wrap(p.d.w, w)}}, g.N,
                  {DNNL_ARG_DIFF_DST, p.d.y, gy, g.Cout * g.Ho * g.Wo},
                  {DNNL_ARG_DIFF_SRC, p.d.x, gx, g.Cin * g.H * g.W}, [] {});
  });
}

void conv2d_backward_weight_onednn(Context& ctx, const Conv2dGeom& g, const float* x, const float* gy, float* gw) {
  run_onednn("conv2d_backward_weight", [&] {
    OneDnnCpu& dnn = ctx.cache<OneDnnCpu>();
    ConvPrimitives& p = dnn.primitives(one_image(g));
    // Each image's gradient into gw_image, then gw += it: the reference's accumulation order
    // over images (conv2d_backward_weight_cpu adds image by image too).
    const int64_t w_size = g.Cout * g.Cin * g.KH * g.KW;
    dnn.gw_image.resize(size_t(w_size));
    run_per_image(dnn, p.weight_of(dnn.engine), {{DNNL_ARG_DIFF_WEIGHTS, dnn.wrap(p.d.w, dnn.gw_image.data())}}, g.N,
                  {DNNL_ARG_SRC, p.d.x, x, g.Cin * g.H * g.W}, {DNNL_ARG_DIFF_DST, p.d.y, gy, g.Cout * g.Ho * g.Wo},
                  [&] { axpy_cpu(1.f, dnn.gw_image.data(), gw, w_size); });
  });
}

std::string onednn_description() {
  const dnnl_version_t* v = dnnl_version();
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

}  // namespace frcnn
