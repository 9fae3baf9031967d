// Page-locked ("pinned") host memory for the loader's image staging, so the copy of an
// image to the GPU is a true asynchronous DMA on the compute stream and the GPU never
// waits on the host.
//
// PinnedPool hands out HostBlocks and takes them back when the last shared_ptr to one
// is dropped. With use_pinned (a CUDA build with a GPU present) blocks are cudaHostAlloc'd
// (data/pinned_cuda.cpp); otherwise, and in a build without CUDA, they are ordinary
// aligned host memory, with the same interface. Blocks are only freed when the pool is
// destroyed: cudaFreeHost synchronises the whole device, so it must not run per image.
//
// Upload protocol: upload_async(block, dst, bytes, stream) queues the host-to-device copy
// on `stream` and records an event on the block; a later acquire() that would reuse the
// block first waits for that event (in the loader's worker thread), so a block is never
// overwritten while a copy from it is still in flight, even if the consumer dropped it.
#pragma once
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/device.h"
#include "engine/stream.h"
#include "engine/tensor.h"

namespace frcnn {

// True when page-locked memory can be had: built with CUDA and a GPU is present.
bool pinned_memory_available();

struct HostBlock {
  void* data = nullptr;
  size_t bytes = 0;
  bool pinned = false;    // cudaHostAlloc'd
  void* event = nullptr;  // cudaEvent_t recorded after the last upload from this block
  bool event_pending = false;
};

class PinnedPool : public std::enable_shared_from_this<PinnedPool> {
 public:
  // use_pinned is ignored (ordinary memory) when pinned_memory_available() is false.
  static std::shared_ptr<PinnedPool> create(bool use_pinned);
  ~PinnedPool();
  PinnedPool(const PinnedPool&) = delete;
  PinnedPool& operator=(const PinnedPool&) = delete;

  // A block of at least `bytes`; reuses a returned block when one is large enough,
  // after waiting for its last upload. The block goes back to the pool when the last
  // copy of the returned pointer is dropped.
  std::shared_ptr<HostBlock> acquire(size_t bytes);
  bool pinned() const { return pinned_; }
  size_t blocks_allocated() const;  // distinct blocks ever allocated (reuse keeps this low)

 private:
  explicit PinnedPool(bool pinned) : pinned_(pinned) {}
  void release(HostBlock* b);

  bool pinned_;
  mutable std::mutex mu_;
  std::vector<HostBlock*> free_;
  std::vector<HostBlock*> all_;
};

// Queues a copy of `bytes` from block.data to device memory `dst` on `stream` and records
// the block's event. Throws unless the block is pinned (a CUDA build with a GPU).
void upload_async(HostBlock& block, void* dst, size_t bytes, Stream stream);

// `host` (CPU) copied to a new tensor on CUDA device `dev`, queued on `stream`: from
// `staged` with upload_async when it is a page-locked copy of `host`, else an ordinary
// (synchronous) copy from `host` itself.
Tensor upload_to(const Tensor& host, HostBlock* staged, const Device& dev, Stream stream);

}  // namespace frcnn
