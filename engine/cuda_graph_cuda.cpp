// The CUDA half of cuda_graph.h.
#include <cuda_runtime.h>

#include "engine/cuda_check.h"
#include "engine/cuda_graph.h"
#include "engine/device.h"
#include "engine/device_counters.h"

namespace frcnn::graph_impl {

void begin_capture(Stream s) {
  if (!s.handle) throw std::invalid_argument("CudaGraph::begin_capture: the legacy default stream cannot be captured");
  // Global mode: a capture-unsafe call anywhere in the process (a sync, cudaFree) is an
  // error rather than a silently broken graph.
  CUDA_CHECK(cudaStreamBeginCapture(cuda_stream(s), cudaStreamCaptureModeGlobal));
}

void end_capture(Stream s, void** graph, void** exec) {
  cudaGraph_t g = nullptr;
  cudaError_t e = cudaStreamEndCapture(cuda_stream(s), &g);
  if (e != cudaSuccess) {
    cudaGetLastError();  // the capture's error is reported by the throw below
    if (g) cudaGraphDestroy(g);
    throw CudaError(e, "cudaStreamEndCapture (something in the captured work failed or is not capturable)",
                    __FILE__, __LINE__);
  }
  cudaGraphExec_t x = nullptr;
  e = cudaGraphInstantiate(&x, g, 0);
  if (e != cudaSuccess) {
    cudaGraphDestroy(g);
    throw CudaError(e, "cudaGraphInstantiate", __FILE__, __LINE__);
  }
  *graph = g;
  *exec = x;
}

void abort_capture(Stream s) noexcept {
  cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(cuda_stream(s), &st) != cudaSuccess || st == cudaStreamCaptureStatusNone) return;
  cudaGraph_t g = nullptr;
  cudaStreamEndCapture(cuda_stream(s), &g);
  if (g) cudaGraphDestroy(g);
  cudaGetLastError();
}

void launch(void* exec, Stream s) {
  CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec), cuda_stream(s)));
  count_graph_launch();
}

void destroy(void* graph, void* exec) noexcept {
  if (exec) cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec));
  if (graph) cudaGraphDestroy(static_cast<cudaGraph_t>(graph));
}

void* pinned_alloc(size_t bytes) {
  require_device(Device::cuda(0));
  void* p = nullptr;
  CUDA_CHECK(cudaHostAlloc(&p, bytes ? bytes : 1, cudaHostAllocDefault));
  return p;
}

void pinned_free(void* p) noexcept { cudaFreeHost(p); }

void copy_async(void* dst, const void* src, size_t bytes, int kind, Stream s) {
  if (bytes == 0) return;
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, static_cast<cudaMemcpyKind>(kind), cuda_stream(s)));
}

void stream_wait_event(Stream s, void* e) {
  CUDA_CHECK(cudaStreamWaitEvent(cuda_stream(s), static_cast<cudaEvent_t>(e), 0));
}

float event_elapsed(void* a, void* b) {
  float ms = 0.f;
  CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(a), static_cast<cudaEvent_t>(b)));
  return ms;
}

}  // namespace frcnn::graph_impl
