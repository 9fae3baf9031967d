// Stream capture and CUDA graphs on the emulated device: what a capture records (kernels,
// copies, memsets, cuBLAS, CUB), that a launch replays it on the launch's stream, and
// that what real CUDA refuses during a capture is reported and invalidates it.
#include <cublas_v2.h>

#include <cub/cub.cuh>
#include <vector>

#include "tests/emu/emu_test_util.h"

using namespace frcnn;
using namespace frcnn::emu_test;

namespace {

__global__ void emu_graph_scale_kernel(float* y, int n, float a) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) y[i] = a * y[i] + 1.f;
}

struct StreamHandle {
  cudaStream_t s = nullptr;
  StreamHandle() { REQUIRE(cudaStreamCreate(&s) == cudaSuccess); }
  ~StreamHandle() { cudaStreamDestroy(s); }
};

}  // namespace

TEST_CASE("emu graph: a capture records launches, copies and memsets, and each launch replays them", "[emu]") {
  StreamHandle st;
  DevBuf<float> d(std::vector<float>(64, 1.f));
  float* pinned = nullptr;
  REQUIRE(cudaMallocHost(&pinned, 64 * sizeof(float)) == cudaSuccess);
  for (int i = 0; i < 64; ++i) pinned[i] = 2.f;
  emu::reset_counters();
  REQUIRE(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal) == cudaSuccess);
  cudaStreamCaptureStatus status;
  REQUIRE(cudaStreamIsCapturing(st.s, &status) == cudaSuccess);
  REQUIRE(status == cudaStreamCaptureStatusActive);
  REQUIRE(cudaMemcpyAsync(d.get(), pinned, 64 * sizeof(float), cudaMemcpyHostToDevice, st.s) == cudaSuccess);
  FRCNN_LAUNCH(emu_graph_scale_kernel, 1, 32, 0, st.s, d.get(), 64, 3.f);
  REQUIRE(cudaMemsetAsync(d.get(), 0, sizeof(float), st.s) == cudaSuccess);
  REQUIRE(cudaMemcpyAsync(pinned, d.get(), 64 * sizeof(float), cudaMemcpyDeviceToHost, st.s) == cudaSuccess);
  cudaGraph_t g = nullptr;
  REQUIRE(cudaStreamEndCapture(st.s, &g) == cudaSuccess);
  // Nothing ran: the device still holds ones, the host twos.
  REQUIRE(emu::counters().launches == 0);
  REQUIRE(d.download()[5] == 1.f);
  REQUIRE(pinned[5] == 2.f);
  cudaGraphExec_t x = nullptr;
  REQUIRE(cudaGraphInstantiate(&x, g, 0) == cudaSuccess);
  emu::reset_counters();
  StreamHandle other;  // a graph runs on the stream it is launched on
  REQUIRE(cudaGraphLaunch(x, other.s) == cudaSuccess);
  REQUIRE(cudaStreamSynchronize(other.s) == cudaSuccess);
  REQUIRE(pinned[0] == 0.f);
  REQUIRE(pinned[5] == 7.f);  // 3 * 2 + 1
  // The second launch reads the pinned input again: 3 * 7 + 1.
  REQUIRE(cudaGraphLaunch(x, other.s) == cudaSuccess);
  REQUIRE(pinned[5] == 22.f);
  const auto c = emu::counters();
  REQUIRE(c.graph_launches == 2);
  REQUIRE(c.launches == 2);
  REQUIRE(c.graph_kernels == 2);
  REQUIRE(c.copies_h2d == 2);
  REQUIRE(c.copies_d2h == 2);
  REQUIRE(c.host_waits == 1);  // the one sync: copies to pinned memory do not wait
  REQUIRE(cudaGraphExecDestroy(x) == cudaSuccess);
  REQUIRE(cudaGraphDestroy(g) == cudaSuccess);
  REQUIRE(cudaFreeHost(pinned) == cudaSuccess);
}

TEST_CASE("emu graph: cuBLAS and CUB calls on a capturing stream run at each launch", "[emu]") {
  StreamHandle st;
  cublasHandle_t h;
  REQUIRE(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
  REQUIRE(cublasSetStream(h, st.s) == CUBLAS_STATUS_SUCCESS);
  DevBuf<float> a(std::vector<float>{1, 2, 3, 4}), b(std::vector<float>{1, 0, 0, 1}), c(4);
  DevBuf<float> keys(std::vector<float>{0.5f, 2.f, 1.f}), keys_out(3);
  DevBuf<int> vals(std::vector<int>{0, 1, 2}), vals_out(3);
  size_t tmp_bytes = 0;
  REQUIRE(cub::DeviceRadixSort::SortPairsDescending(nullptr, tmp_bytes, keys.get(), keys_out.get(), vals.get(),
                                                    vals_out.get(), 3, 0, 32, st.s) == cudaSuccess);
  DevBuf<unsigned char> tmp(tmp_bytes);
  REQUIRE(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal) == cudaSuccess);
  const float one = 1.f, zero = 0.f;
  REQUIRE(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a.get(), 2, b.get(), 2, &zero, c.get(), 2) ==
          CUBLAS_STATUS_SUCCESS);
  REQUIRE(cub::DeviceRadixSort::SortPairsDescending(tmp.get(), tmp_bytes, keys.get(), keys_out.get(), vals.get(),
                                                    vals_out.get(), 3, 0, 32, st.s) == cudaSuccess);
  cudaGraph_t g = nullptr;
  REQUIRE(cudaStreamEndCapture(st.s, &g) == cudaSuccess);
  REQUIRE(vals_out.download() != std::vector<int>{1, 2, 0});  // not run yet (poison)
  cudaGraphExec_t x = nullptr;
  REQUIRE(cudaGraphInstantiate(&x, g, 0) == cudaSuccess);
  REQUIRE(cudaGraphLaunch(x, st.s) == cudaSuccess);
  REQUIRE(c.download() == std::vector<float>{1, 2, 3, 4});
  REQUIRE(vals_out.download() == std::vector<int>{1, 2, 0});
  cudaGraphExecDestroy(x);
  cudaGraphDestroy(g);
  cublasDestroy(h);
}

TEST_CASE("emu graph: a sync, a cudaFree, the legacy stream or pageable memory in a capture is an error", "[emu]") {
  StreamHandle st;
  DevBuf<float> d(std::vector<float>(8, 0.f));
  std::vector<float> pageable(8);
  void* extra = nullptr;
  auto capture_fails = [&](const std::function<void()>& inside) {
    REQUIRE(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal) == cudaSuccess);
    inside();
    cudaGraph_t g = nullptr;
    REQUIRE(cudaStreamEndCapture(st.s, &g) == cudaErrorStreamCaptureInvalidated);
    REQUIRE(g == nullptr);
    cudaGetLastError();
    REQUIRE(emu::take_errors() > 0);
  };
  SECTION("a stream sync") {
    capture_fails([&] { REQUIRE(cudaStreamSynchronize(st.s) == cudaErrorStreamCaptureUnsupported); });
  }
  SECTION("a device sync") {
    capture_fails([&] { REQUIRE(cudaDeviceSynchronize() == cudaErrorStreamCaptureUnsupported); });
  }
  SECTION("a synchronous copy") {
    capture_fails([&] {
      REQUIRE(cudaMemcpy(pageable.data(), d.get(), 32, cudaMemcpyDeviceToHost) == cudaErrorStreamCaptureUnsupported);
    });
  }
  SECTION("a kernel on the legacy stream") {
    capture_fails([&] {
      REQUIRE_THROWS_AS(FRCNN_LAUNCH(emu_graph_scale_kernel, 1, 32, 0, nullptr, d.get(), 8, 1.f), CudaError);
    });
  }
  SECTION("cudaFree") {
    REQUIRE(cudaMalloc(&extra, 64) == cudaSuccess);
    capture_fails([&] { REQUIRE(cudaFree(extra) == cudaErrorStreamCaptureUnsupported); });
    REQUIRE(cudaFree(extra) == cudaSuccess);  // allowed again once the capture is over
  }
  SECTION("a copy to pageable memory") {
    REQUIRE(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal) == cudaSuccess);
    REQUIRE(cudaMemcpyAsync(pageable.data(), d.get(), 32, cudaMemcpyDeviceToHost, st.s) ==
            cudaErrorStreamCaptureUnsupported);
    REQUIRE(emu::take_errors() > 0);
    cudaGetLastError();
    cudaGraph_t g = nullptr;
    REQUIRE(cudaStreamEndCapture(st.s, &g) == cudaSuccess);  // the refused copy is simply not in it
    cudaGraphDestroy(g);
  }
  SECTION("cudaMalloc is allowed") {
    REQUIRE(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal) == cudaSuccess);
    REQUIRE(cudaMalloc(&extra, 64) == cudaSuccess);
    cudaGraph_t g = nullptr;
    REQUIRE(cudaStreamEndCapture(st.s, &g) == cudaSuccess);
    REQUIRE(cudaGraphDestroy(g) == cudaSuccess);
    REQUIRE(cudaFree(extra) == cudaSuccess);
  }
}

TEST_CASE("emu graph: a replayed launch re-checks its pointers", "[emu]") {
  StreamHandle st;
  float* p = nullptr;
  REQUIRE(cudaMalloc(&p, 64 * sizeof(float)) == cudaSuccess);
  REQUIRE(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal) == cudaSuccess);
  FRCNN_LAUNCH(emu_graph_scale_kernel, 1, 32, 0, st.s, p, 64, 2.f);
  cudaGraph_t g = nullptr;
  REQUIRE(cudaStreamEndCapture(st.s, &g) == cudaSuccess);
  cudaGraphExec_t x = nullptr;
  REQUIRE(cudaGraphInstantiate(&x, g, 0) == cudaSuccess);
  REQUIRE(cudaFree(p) == cudaSuccess);  // the graph now points at freed memory, as a GPU would fault on
  REQUIRE(cudaGraphLaunch(x, st.s) == cudaSuccess);
  REQUIRE(cudaGetLastError() != cudaSuccess);
  REQUIRE(emu::take_errors() > 0);
  cudaGraphExecDestroy(x);
  cudaGraphDestroy(g);
}
