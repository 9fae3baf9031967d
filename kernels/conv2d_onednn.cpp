#include "kernels/conv2d_onednn.h"

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

namespace frcnn {
namespace {

using Tag = dnnl::memory::format_tag;
using Dt = dnnl::memory::data_type;

// One forward primitive per single-image geometry and bias presence.
using ConvKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool>;

ConvKey key_of(const Conv2dGeom& g, bool bias) {
  return {g.N, g.Cin, g.H, g.W, g.Cout, g.KH, g.KW, g.pad, g.stride, bias};
}

struct ConvPrimitive {
  dnnl::memory::desc x, w, b, y;
  dnnl::convolution_forward conv;
};

// Per-context state (Context::cache): the CPU engine, an in-order stream, the primitives.
struct OneDnnCpu {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::map<ConvKey, std::unique_ptr<ConvPrimitive>> convs;

  // g.N == 1 (see conv2d_forward_onednn).
  const ConvPrimitive& conv(const Conv2dGeom& g, bool bias) {
    std::unique_ptr<ConvPrimitive>& p = convs[key_of(g, bias)];
    if (!p) {
      p = std::make_unique<ConvPrimitive>();
      p->x = dnnl::memory::desc({g.N, g.Cin, g.H, g.W}, Dt::f32, Tag::nchw);
      p->w = dnnl::memory::desc({g.Cout, g.Cin, g.KH, g.KW}, Dt::f32, Tag::oihw);
      p->b = bias ? dnnl::memory::desc({g.Cout}, Dt::f32, Tag::x) : dnnl::memory::desc();
      p->y = dnnl::memory::desc({g.N, g.Cout, g.Ho, g.Wo}, Dt::f32, Tag::nchw);
      // Padding is symmetric (pad on every side; the bottom/right side may overhang when the
      // stride does not divide the span, as in the reference: the output size is g's).
      const dnnl::memory::dims strides{g.stride, g.stride}, pad_l{g.pad, g.pad};
      const dnnl::memory::dims pad_r{(g.Ho - 1) * g.stride + g.KH - g.H - g.pad,
                                     (g.Wo - 1) * g.stride + g.KW - g.W - g.pad};
      dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, p->x,
                                        p->w, p->b, p->y, strides, pad_l, pad_r);
      p->conv = dnnl::convolution_forward(dnnl::convolution_forward::primitive_desc(d, engine));
    }
    return *p;
  }
};

}  // namespace

void conv2d_forward_onednn(Context& ctx, const Conv2dGeom& g, const float* x, const float* w, const float* b,
                           float* y) {
  try {
    OneDnnCpu& dnn = ctx.cache<OneDnnCpu>();
    // One image per call: oneDNN's blocking (and so its summation order) can depend on N,
    // and an image's result must not depend on its batch (detect_batch == detect, bit for bit).
    Conv2dGeom one = g;
    one.N = 1;
    const ConvPrimitive& p = dnn.conv(one, b != nullptr);
    // The memory objects wrap our buffers (no copies); oneDNN takes non-const handles.
    dnnl::memory xm(p.x, dnn.engine, const_cast<float*>(x)), wm(p.w, dnn.engine, const_cast<float*>(w)),
        ym(p.y, dnn.engine, y);
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, ym}};
    if (b) args.emplace(DNNL_ARG_BIAS, dnnl::memory(p.b, dnn.engine, const_cast<float*>(b)));
    const int64_t x_image = g.Cin * g.H * g.W, y_image = g.Cout * g.Ho * g.Wo;
    for (int64_t n = 0; n < g.N; ++n) {
      xm.set_data_handle(const_cast<float*>(x + n * x_image));
      ym.set_data_handle(y + n * y_image);
      args[DNNL_ARG_SRC] = xm;
      args[DNNL_ARG_DST] = ym;
      p.conv.execute(dnn.stream, args);
    }
    dnn.stream.wait();
  } catch (const dnnl::error& e) {
    throw std::runtime_error("conv2d_forward (CPU, oneDNN): " + std::string(e.what()) + " (status " +
                             std::to_string(int(e.status)) + ")");
  }
}

std::string onednn_description() {
  const dnnl_version_t* v = dnnl_version();
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

}  // namespace frcnn
