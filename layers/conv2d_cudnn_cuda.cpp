// cuDNN backend of Conv2d: the correctness cross-check and speed yardstick for our own
// kernels. fp32 maths (CUDNN_DEFAULT_MATH: no TF32), algorithms chosen by
// cudnnFind*AlgorithmEx-free heuristics (cudnnGet*_v7, first one that fits the
// workspace cap), so the choice does not depend on timing noise.
#include <stdexcept>
#include <string>

#include "engine/cuda_check.h"
#include "kernels/conv2d.h"
#include "layers/conv2d_layer.h"
#if FRCNN_WITH_CUDNN
#include <cudnn.h>
#endif

namespace frcnn {

#if FRCNN_WITH_CUDNN
namespace {

void cudnn_check(cudnnStatus_t st, const char* what) {
  if (st != CUDNN_STATUS_SUCCESS)
    throw std::runtime_error(std::string("conv2d (cuDNN): ") + what + ": " + cudnnGetErrorString(st));
}

constexpr size_t kWorkspaceCap = size_t(1) << 30;  // 1 GiB

// The best-ranked algorithm of cuDNN's heuristic list that works within the workspace
// cap (its workspace size in ws_bytes), else `fallback` with no workspace.
template <class Perf, class Algo>
Algo pick_algo(const Perf* perf, int n, Algo fallback, size_t& ws_bytes) {
  ws_bytes = 0;
  for (int i = 0; i < n; ++i)
    if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= kWorkspaceCap) {
      ws_bytes = perf[i].memory;
      return perf[i].algo;
    }
  return fallback;
}

// RAII descriptors for one convolution geometry.
struct Descs {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, b = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  explicit Descs(const Conv2dGeom& g) {
    cudnn_check(cudnnCreateTensorDescriptor(&x), "create x desc");
    cudnn_check(cudnnCreateTensorDescriptor(&y), "create y desc");
    cudnn_check(cudnnCreateTensorDescriptor(&b), "create bias desc");
    cudnn_check(cudnnCreateFilterDescriptor(&w), "create filter desc");
    cudnn_check(cudnnCreateConvolutionDescriptor(&conv), "create conv desc");
    cudnn_check(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(g.N), int(g.Cin), int(g.H),
                                           int(g.W)),
                "x desc");
    cudnn_check(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(g.N), int(g.Cout), int(g.Ho),
                                           int(g.Wo)),
                "y desc");
    cudnn_check(cudnnSetTensor4dDescriptor(b, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, int(g.Cout), 1, 1), "bias desc");
    cudnn_check(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, int(g.Cout), int(g.Cin), int(g.KH),
                                           int(g.KW)),
                "filter desc");
    cudnn_check(cudnnSetConvolution2dDescriptor(conv, int(g.pad), int(g.pad), int(g.stride), int(g.stride), 1, 1,
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                "conv desc");
    cudnn_check(cudnnSetConvolutionMathType(conv, CUDNN_DEFAULT_MATH), "math type");
  }
  ~Descs() {
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(b);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(conv);
  }
  Descs(const Descs&) = delete;
  Descs& operator=(const Descs&) = delete;
};

int current_device() {
  int d = 0;
  CUDA_CHECK(cudaGetDevice(&d));
  return d;
}

void check_cuda_tensors(const Context& ctx, std::initializer_list<const Tensor*> ts, const char* op) {
  if (!ctx.is_cuda()) throw std::invalid_argument(std::string(op) + ": the cuDNN backend needs a CUDA context");
  for (const Tensor* t : ts)
    if (t->defined() && t->device() != ctx.device())
      throw std::invalid_argument(std::string(op) + ": tensor on " + t->device().str() + ", context on " +
                                  ctx.device().str());
}

}  // namespace

Tensor conv2d_forward_cudnn(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, int64_t pad,
                            int64_t stride) {
  x.check_dtype(DType::F32, "conv2d_forward_cudnn: x");
  w.check_dtype(DType::F32, "conv2d_forward_cudnn: weight");
  Conv2dGeom g = conv2d_geom(x.shape(), w.shape(), pad, stride);
  if (b.defined()) b.check_shape({g.Cout}, "conv2d_forward_cudnn: bias");
  check_cuda_tensors(ctx, {&x, &w, &b}, "conv2d_forward_cudnn");
  Tensor y = Tensor::empty({g.N, g.Cout, g.Ho, g.Wo}, DType::F32, ctx.device(), ctx.stream());
  if (g.N == 0) return y;
  auto h = static_cast<cudnnHandle_t>(ctx.cudnn());
  Descs d(g);
  cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  int n = 0;
  cudnn_check(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n,
                                                     perf),
              "forward algorithm");
  size_t ws_bytes = 0;
  const cudnnConvolutionFwdAlgo_t algo = pick_algo(perf, n, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, ws_bytes);
  Buffer ws(ws_bytes, Device::cuda(current_device()), ctx.stream());
  const float one = 1.f, zero = 0.f;
  cudnn_check(cudnnConvolutionForward(h, &one, d.x, x.data<float>(), d.w, w.data<float>(), d.conv, algo, ws.data(),
                                      ws_bytes, &zero, d.y, y.data<float>()),
              "forward");
  if (b.defined()) cudnn_check(cudnnAddTensor(h, &one, d.b, b.data<float>(), &one, d.y, y.data<float>()), "bias add");
  return y;
}

Tensor conv2d_backward_data_cudnn(Context& ctx, const Tensor& gy, const Tensor& w, const Shape& x_shape, int64_t pad,
                                  int64_t stride) {
  Conv2dGeom g = conv2d_geom(x_shape, w.shape(), pad, stride);
  gy.check_shape({g.N, g.Cout, g.Ho, g.Wo}, "conv2d_backward_data_cudnn: grad_out");
  check_cuda_tensors(ctx, {&gy, &w}, "conv2d_backward_data_cudnn");
  Tensor gx = Tensor::empty(x_shape, DType::F32, ctx.device(), ctx.stream());
  if (g.N == 0) return gx;
  auto h = static_cast<cudnnHandle_t>(ctx.cudnn());
  Descs d(g);
  cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
  int n = 0;
  cudnn_check(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y, d.conv, d.x,
                                                          CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf),
              "backward-data algorithm");
  size_t ws_bytes = 0;
  const cudnnConvolutionBwdDataAlgo_t algo = pick_algo(perf, n, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, ws_bytes);
  Buffer ws(ws_bytes, Device::cuda(current_device()), ctx.stream());
  const float one = 1.f, zero = 0.f;
  cudnn_check(cudnnConvolutionBackwardData(h, &one, d.w, w.data<float>(), d.y, gy.data<float>(), d.conv, algo,
                                           ws.data(), ws_bytes, &zero, d.x, gx.data<float>()),
              "backward-data");
  return gx;
}

void conv2d_backward_weight_cudnn(Context& ctx, const Tensor& x, const Tensor& gy, Tensor& gw, Tensor& gb, int64_t pad,
                                  int64_t stride) {
  Conv2dGeom g = conv2d_geom(x.shape(), gw.shape(), pad, stride);
  gy.check_shape({g.N, g.Cout, g.Ho, g.Wo}, "conv2d_backward_weight_cudnn: grad_out");
  if (gb.defined()) gb.check_shape({g.Cout}, "conv2d_backward_weight_cudnn: grad_bias");
  check_cuda_tensors(ctx, {&x, &gy, &gw, &gb}, "conv2d_backward_weight_cudnn");
  if (g.N == 0) return;
  auto h = static_cast<cudnnHandle_t>(ctx.cudnn());
  Descs d(g);
  cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
  int n = 0;
  cudnn_check(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x, d.y, d.conv, d.w,
                                                            CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf),
              "backward-filter algorithm");
  size_t ws_bytes = 0;
  const cudnnConvolutionBwdFilterAlgo_t algo = pick_algo(perf, n, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, ws_bytes);
  Buffer ws(ws_bytes, Device::cuda(current_device()), ctx.stream());
  const float one = 1.f;
  // beta = 1: parameter gradients accumulate.
  cudnn_check(cudnnConvolutionBackwardFilter(h, &one, d.x, x.data<float>(), d.y, gy.data<float>(), d.conv, algo,
                                             ws.data(), ws_bytes, &one, d.w, gw.data<float>()),
              "backward-filter");
  if (gb.defined())
    cudnn_check(cudnnConvolutionBackwardBias(h, &one, d.y, gy.data<float>(), &one, d.b, gb.data<float>()),
                "backward-bias");
}

#else  // CUDA without cuDNN: the switch exists, the backend does not.

Tensor conv2d_forward_cudnn(Context&, const Tensor&, const Tensor&, const Tensor&, int64_t, int64_t) {
  throw std::runtime_error("conv_backend cudnn: this frcnn was built without cuDNN");
}
Tensor conv2d_backward_data_cudnn(Context&, const Tensor&, const Tensor&, const Shape&, int64_t, int64_t) {
  throw std::runtime_error("conv_backend cudnn: this frcnn was built without cuDNN");
}
void conv2d_backward_weight_cudnn(Context&, const Tensor&, const Tensor&, Tensor&, Tensor&, int64_t, int64_t) {
  throw std::runtime_error("conv_backend cudnn: this frcnn was built without cuDNN");
}

#endif

}  // namespace frcnn
