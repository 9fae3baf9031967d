// A CUDA graph captured from a stream (RAII, move-only), and what a captured sequence
// needs around it: page-locked host memory for its copies, and events that time its
// phases without a sync.
//
//   CudaGraph::begin_capture(s);   // work queued on s is now recorded, not run
//   ... kernels, async copies, cuBLAS calls on s ...
//   CudaGraph g = CudaGraph::end_capture(s);   // instantiated; throws if the capture failed
//   g.launch(s);                               // replays the whole sequence: one call
//
// A capture must not synchronise, free device memory or touch pageable host memory
// (the emulated device reports each, emu/graph.cpp); addresses are baked in, so the
// memory it uses must stay reserved for it (engine/allocator.h, MemoryPool).
// Every call throws in a build without CUDA.
#pragma once
#include <cstddef>

#include "engine/stream.h"

namespace frcnn {

class CudaGraph {
 public:
  CudaGraph() = default;
  ~CudaGraph();
  CudaGraph(CudaGraph&& o) noexcept;
  CudaGraph& operator=(CudaGraph&& o) noexcept;
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  static void begin_capture(Stream s);
  // Ends the capture begun on s and instantiates the graph. When anything in it failed
  // the capture is ended and discarded, and this throws CudaError.
  static CudaGraph end_capture(Stream s);
  // Ends a capture on s if one is under way and discards it (for error paths; no throw).
  static void abort_capture(Stream s) noexcept;
  void launch(Stream s) const;
  bool defined() const { return exec_ != nullptr; }

 private:
  void reset() noexcept;
  void* graph_ = nullptr;  // cudaGraph_t
  void* exec_ = nullptr;   // cudaGraphExec_t
};

// Page-locked host memory (cudaHostAlloc): what async copies, and copies in a graph,
// need on the host side.
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  explicit PinnedBuffer(size_t bytes);
  ~PinnedBuffer();
  PinnedBuffer(PinnedBuffer&& o) noexcept;
  PinnedBuffer& operator=(PinnedBuffer&& o) noexcept;
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  void* data() const { return p_; }
  size_t bytes() const { return bytes_; }

 private:
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

// Queued on s, no wait: host (pinned) -> device, device -> host (pinned), device -> device.
void copy_h2d_async(void* dst, const void* src, size_t bytes, Stream s);
void copy_d2h_async(void* dst, const void* src, size_t bytes, Stream s);
void copy_d2d_async(void* dst, const void* src, size_t bytes, Stream s);

// A timing event: record() on a stream (also inside a capture: it is then recorded at
// each replay); elapsed_ms(a, b) once both have completed (after a sync: it does not wait);
// make_wait(s): work queued on s from now on starts after the event's last record (on the
// device: the host does not wait) — how one stream's upload gates another's compute.
class CudaEvent {
 public:
  CudaEvent();
  ~CudaEvent();
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;
  void record(Stream s);
  void make_wait(Stream s) const;
  static float elapsed_ms(const CudaEvent& a, const CudaEvent& b);

 private:
  [[maybe_unused]] void* e_ = nullptr;  // cudaEvent_t; unused in a build without CUDA
};

}  // namespace frcnn
