// Stream capture and CUDA graphs of the emulation. Work queued on a capturing stream —
// kernel launches, async copies and memsets, event records, cuBLAS and CUB calls — is
// recorded instead of run; cudaGraphLaunch runs the recorded work in capture order on
// the stream it is launched on, re-checking every pointer as a GPU would fault on it.
// What real CUDA refuses during a capture is a reported error here too, and it
// invalidates the capture (cudaStreamEndCapture then fails):
//   - a synchronisation with the capturing stream or the device (cudaStreamSynchronize,
//     cudaStreamQuery, cudaDeviceSynchronize, a synchronous cudaMemcpy/cudaMemset);
//   - work on the legacy default stream while any capture is under way (our streams are
//     blocking, so it would be an implicit dependency on the capture);
//   - cudaFree (cudaMalloc is allowed: it is not stream work, and the memory is ready);
//   - a device->host or host->device copy to or from pageable memory.
// Capture modes are accepted; the rules above are the global mode's and apply to all.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "emu/internal.h"

namespace {
struct Node {
  std::string what;
  emu::detail::Work work;
};
}  // namespace

struct CUgraph_st {
  std::vector<Node> nodes;
};
struct CUgraphExec_st {
  std::vector<Node> nodes;
};

namespace emu::detail {

namespace {

struct Capture {
  cudaGraph_t graph = nullptr;
  bool invalid = false;
};

std::mutex g_mu;
std::map<cudaStream_t, Capture> g_captures;  // capturing streams
std::set<const CUgraph_st*> g_graphs;
std::set<const CUgraphExec_st*> g_execs;
thread_local int t_replaying = 0;

bool is_legacy(cudaStream_t s) { return s == nullptr || s == cudaStreamLegacy; }

// Marks every capture invalid (real CUDA invalidates the global-mode captures).
void invalidate_all_locked() {
  for (auto& kv : g_captures) kv.second.invalid = true;
}

}  // namespace

bool capturing(cudaStream_t stream) {
  std::lock_guard<std::mutex> l(g_mu);
  return !is_legacy(stream) && g_captures.count(stream) != 0;
}

cudaError_t capture(cudaStream_t stream, const char* what, Work work) {
  std::lock_guard<std::mutex> l(g_mu);
  auto it = g_captures.find(stream);
  if (it == g_captures.end())
    return fail(cudaErrorIllegalState, "capture", "%s recorded on stream %p, which is not capturing", what,
                static_cast<void*>(stream));
  if (it->second.invalid) {
    set_last_error(cudaErrorStreamCaptureInvalidated);
    return cudaErrorStreamCaptureInvalidated;
  }
  it->second.graph->nodes.push_back({what, std::move(work)});
  return cudaSuccess;
}

cudaError_t check_enqueue(cudaStream_t stream, const char* what) {
  std::lock_guard<std::mutex> l(g_mu);
  if (g_captures.empty() || !is_legacy(stream)) return cudaSuccess;
  invalidate_all_locked();
  return fail(cudaErrorStreamCaptureImplicit, "capture",
              "%s on the legacy default stream while a stream is being captured (an implicit dependency on the "
              "capture; real CUDA refuses it and invalidates the capture)",
              what);
}

cudaError_t check_capture_safe(const char* api, cudaStream_t stream, bool any_stream) {
  std::lock_guard<std::mutex> l(g_mu);
  if (g_captures.empty()) return cudaSuccess;
  if (!any_stream && !is_legacy(stream) && !g_captures.count(stream)) return cudaSuccess;
  invalidate_all_locked();
  return fail(cudaErrorStreamCaptureUnsupported, "capture",
              "%s while a stream is being captured: not permitted (it would wait for, or free memory of, work that "
              "is only being recorded); the capture is invalidated",
              api);
}

bool replaying() { return t_replaying > 0; }

}  // namespace emu::detail

namespace emu {
bool stream_capturing(cudaStream_t stream) { return detail::capturing(stream); }
void capture_work(cudaStream_t stream, const char* what, std::function<void(cudaStream_t)> work) {
  detail::capture(stream, what, std::move(work));
}
}  // namespace emu

using namespace emu::detail;

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode) {
  if (!stream_is_valid(stream))
    return fail(cudaErrorInvalidResourceHandle, "invalid-stream", "cudaStreamBeginCapture on stream %p, which does "
                "not exist", static_cast<void*>(stream));
  if (is_legacy(stream) || stream == cudaStreamPerThread)
    return fail(cudaErrorStreamCaptureUnsupported, "capture", "cudaStreamBeginCapture on the default stream");
  std::lock_guard<std::mutex> l(g_mu);
  if (g_captures.count(stream))
    return fail(cudaErrorIllegalState, "capture", "cudaStreamBeginCapture(%p): the stream is already capturing",
                static_cast<void*>(stream));
  auto* g = new CUgraph_st;
  g_graphs.insert(g);
  g_captures[stream] = Capture{g, false};
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  *graph = nullptr;
  Capture c;
  {
    std::lock_guard<std::mutex> l(g_mu);
    auto it = g_captures.find(stream);
    if (it == g_captures.end())
      return fail(cudaErrorIllegalState, "capture", "cudaStreamEndCapture(%p): the stream is not capturing",
                  static_cast<void*>(stream));
    c = it->second;
    g_captures.erase(it);
    if (c.invalid) {
      g_graphs.erase(c.graph);
      delete c.graph;
      set_last_error(cudaErrorStreamCaptureInvalidated);
      return cudaErrorStreamCaptureInvalidated;  // reported when it was invalidated
    }
  }
  *graph = c.graph;
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
  std::lock_guard<std::mutex> l(g_mu);
  auto it = g_captures.find(stream);
  *status = it == g_captures.end() ? cudaStreamCaptureStatusNone
            : it->second.invalid   ? cudaStreamCaptureStatusInvalidated
                                   : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  std::lock_guard<std::mutex> l(g_mu);
  if (!graph || !g_graphs.count(graph))
    return fail(cudaErrorInvalidResourceHandle, "invalid-graph", "cudaGraphInstantiate(%p): not a live graph",
                static_cast<void*>(graph));
  *exec = new CUgraphExec_st{graph->nodes};
  g_execs.insert(*exec);
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  {
    std::lock_guard<std::mutex> l(g_mu);
    if (!exec || !g_execs.count(exec))
      return fail(cudaErrorInvalidResourceHandle, "invalid-graph", "cudaGraphLaunch(%p): not a live executable graph",
                  static_cast<void*>(exec));
  }
  if (!stream_is_valid(stream))
    return fail(cudaErrorInvalidResourceHandle, "invalid-stream", "cudaGraphLaunch on stream %p, which does not exist",
                static_cast<void*>(stream));
  if (cudaError_t e = check_enqueue(stream, "cudaGraphLaunch")) return e;
  if (capturing(stream))
    return fail(cudaErrorStreamCaptureUnsupported, "capture", "cudaGraphLaunch into a capture is not emulated");
  bump(&emu::Counters::graph_launches);
  ++t_replaying;
  for (const Node& n : exec->nodes) n.work(stream);
  --t_replaying;
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  std::lock_guard<std::mutex> l(g_mu);
  if (!graph || !g_graphs.erase(graph))
    return fail(cudaErrorInvalidResourceHandle, "invalid-graph", "cudaGraphDestroy(%p): not a live graph",
                static_cast<void*>(graph));
  delete graph;
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  std::lock_guard<std::mutex> l(g_mu);
  if (!exec || !g_execs.erase(exec))
    return fail(cudaErrorInvalidResourceHandle, "invalid-graph", "cudaGraphExecDestroy(%p): not a live graph",
                static_cast<void*>(exec));
  delete exec;
  return cudaSuccess;
}
