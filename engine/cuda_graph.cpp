// The CUDA-free half of cuda_graph.h: moves, and the errors of a build without CUDA.
#include "engine/cuda_graph.h"

#include <stdexcept>
#include <string>
#include <utility>

namespace frcnn {

#if FRCNN_WITH_CUDA
namespace graph_impl {
void begin_capture(Stream s);
void end_capture(Stream s, void** graph, void** exec);
void abort_capture(Stream s) noexcept;
void launch(void* exec, Stream s);
void destroy(void* graph, void* exec) noexcept;
void* pinned_alloc(size_t bytes);
void pinned_free(void* p) noexcept;
void copy_async(void* dst, const void* src, size_t bytes, int kind, Stream s);  // kind: cudaMemcpyKind
float event_elapsed(void* a, void* b);  // no wait: both events have completed
void stream_wait_event(Stream s, void* e);
}  // namespace graph_impl
// engine/timer_cuda.cpp
void* event_create_impl();
void event_destroy_impl(void* e) noexcept;
void event_record_impl(void* e, Stream s);
#else
namespace {
[[noreturn]] void no_cuda(const char* what) {
  throw std::runtime_error(std::string(what) + ": this frcnn was built without CUDA");
}
}  // namespace
#endif

CudaGraph::~CudaGraph() { reset(); }
CudaGraph::CudaGraph(CudaGraph&& o) noexcept
    : graph_(std::exchange(o.graph_, nullptr)), exec_(std::exchange(o.exec_, nullptr)) {}
CudaGraph& CudaGraph::operator=(CudaGraph&& o) noexcept {
  if (this != &o) {
    reset();
    graph_ = std::exchange(o.graph_, nullptr);
    exec_ = std::exchange(o.exec_, nullptr);
  }
  return *this;
}

void CudaGraph::reset() noexcept {
#if FRCNN_WITH_CUDA
  if (graph_ || exec_) graph_impl::destroy(graph_, exec_);
#endif
  graph_ = exec_ = nullptr;
}

void CudaGraph::begin_capture(Stream s) {
#if FRCNN_WITH_CUDA
  graph_impl::begin_capture(s);
#else
  (void)s;
  no_cuda("CudaGraph::begin_capture");
#endif
}

CudaGraph CudaGraph::end_capture(Stream s) {
  CudaGraph g;
#if FRCNN_WITH_CUDA
  graph_impl::end_capture(s, &g.graph_, &g.exec_);
#else
  (void)s;
  no_cuda("CudaGraph::end_capture");
#endif
  return g;
}

void CudaGraph::abort_capture(Stream s) noexcept {
#if FRCNN_WITH_CUDA
  graph_impl::abort_capture(s);
#else
  (void)s;
#endif
}

void CudaGraph::launch(Stream s) const {
  if (!exec_) throw std::logic_error("CudaGraph::launch: no graph");
#if FRCNN_WITH_CUDA
  graph_impl::launch(exec_, s);
#else
  (void)s;
#endif
}

PinnedBuffer::PinnedBuffer(size_t bytes) : bytes_(bytes) {
#if FRCNN_WITH_CUDA
  p_ = graph_impl::pinned_alloc(bytes);
#else
  no_cuda("PinnedBuffer");
#endif
}
PinnedBuffer::~PinnedBuffer() {
#if FRCNN_WITH_CUDA
  if (p_) graph_impl::pinned_free(p_);
#endif
}
PinnedBuffer::PinnedBuffer(PinnedBuffer&& o) noexcept
    : p_(std::exchange(o.p_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
PinnedBuffer& PinnedBuffer::operator=(PinnedBuffer&& o) noexcept {
  if (this != &o) {
    PinnedBuffer old(std::move(*this));
    p_ = std::exchange(o.p_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
  }
  return *this;
}

namespace {
void copy_async(void* dst, const void* src, size_t bytes, int kind, Stream s) {
#if FRCNN_WITH_CUDA
  graph_impl::copy_async(dst, src, bytes, kind, s);
#else
  (void)dst, (void)src, (void)bytes, (void)kind, (void)s;
  no_cuda("async copy");
#endif
}
}  // namespace

// cudaMemcpyKind values: HostToDevice 1, DeviceToHost 2, DeviceToDevice 3.
void copy_h2d_async(void* dst, const void* src, size_t bytes, Stream s) { copy_async(dst, src, bytes, 1, s); }
void copy_d2h_async(void* dst, const void* src, size_t bytes, Stream s) { copy_async(dst, src, bytes, 2, s); }
void copy_d2d_async(void* dst, const void* src, size_t bytes, Stream s) { copy_async(dst, src, bytes, 3, s); }

CudaEvent::CudaEvent() {
#if FRCNN_WITH_CUDA
  e_ = event_create_impl();
#else
  no_cuda("CudaEvent");
#endif
}
CudaEvent::~CudaEvent() {
#if FRCNN_WITH_CUDA
  if (e_) event_destroy_impl(e_);
#endif
}
void CudaEvent::record(Stream s) {
#if FRCNN_WITH_CUDA
  event_record_impl(e_, s);
#else
  (void)s;
#endif
}
void CudaEvent::make_wait(Stream s) const {
#if FRCNN_WITH_CUDA
  graph_impl::stream_wait_event(s, e_);
#else
  (void)s;
#endif
}
float CudaEvent::elapsed_ms(const CudaEvent& a, const CudaEvent& b) {
#if FRCNN_WITH_CUDA
  return graph_impl::event_elapsed(a.e_, b.e_);
#else
  (void)a, (void)b;
  return 0.f;
#endif
}

}  // namespace frcnn
