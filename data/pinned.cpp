#include "data/pinned.h"

#include <cstdlib>
#include <new>
#include <stdexcept>

#include "engine/device.h"

namespace frcnn {

#if FRCNN_WITH_CUDA
// data/pinned_cuda.cpp
void* pinned_alloc_cuda(size_t bytes);
void pinned_free_cuda(void* p);
void* pinned_event_create_cuda();
void pinned_event_destroy_cuda(void* ev);
void pinned_event_sync_cuda(void* ev);
void pinned_upload_cuda(void* dst, const void* src, size_t bytes, void* ev, Stream stream);
#endif

bool pinned_memory_available() { return cuda_available(); }

std::shared_ptr<PinnedPool> PinnedPool::create(bool use_pinned) {
  return std::shared_ptr<PinnedPool>(new PinnedPool(use_pinned && pinned_memory_available()));
}

PinnedPool::~PinnedPool() {
  // Every block is back in free_ here (each live block's deleter holds the pool).
  for (HostBlock* b : all_) {
#if FRCNN_WITH_CUDA
    if (b->pinned) {
      try {
        if (b->event_pending) pinned_event_sync_cuda(b->event);
        pinned_event_destroy_cuda(b->event);
        pinned_free_cuda(b->data);
      } catch (...) {
        // Destructors must not throw; a failing CUDA runtime at teardown leaks the block.
      }
      delete b;
      continue;
    }
#endif
    std::free(b->data);
    delete b;
  }
}

size_t PinnedPool::blocks_allocated() const {
  std::lock_guard<std::mutex> lock(mu_);
  return all_.size();
}

std::shared_ptr<HostBlock> PinnedPool::acquire(size_t bytes) {
  HostBlock* block = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Smallest free block that fits.
    size_t best = free_.size();
    for (size_t i = 0; i < free_.size(); ++i)
      if (free_[i]->bytes >= bytes && (best == free_.size() || free_[i]->bytes < free_[best]->bytes)) best = i;
    if (best != free_.size()) {
      block = free_[best];
      free_.erase(free_.begin() + static_cast<long>(best));
    }
  }
  if (block) {
#if FRCNN_WITH_CUDA
    if (block->event_pending) {
      pinned_event_sync_cuda(block->event);
      block->event_pending = false;
    }
#endif
  } else {
    auto b = std::make_unique<HostBlock>();
    b->bytes = bytes == 0 ? 64 : (bytes + 63) / 64 * 64;
#if FRCNN_WITH_CUDA
    if (pinned_) {
      b->data = pinned_alloc_cuda(b->bytes);
      b->pinned = true;
      b->event = pinned_event_create_cuda();
    }
#endif
    if (!b->data) {
      b->data = std::aligned_alloc(64, b->bytes);
      if (!b->data) throw std::bad_alloc();
    }
    block = b.release();
    std::lock_guard<std::mutex> lock(mu_);
    all_.push_back(block);
  }
  auto self = shared_from_this();
  return std::shared_ptr<HostBlock>(block, [self](HostBlock* b) { self->release(b); });
}

void PinnedPool::release(HostBlock* b) {
  std::lock_guard<std::mutex> lock(mu_);
  free_.push_back(b);
}

void upload_async(HostBlock& block, void* dst, size_t bytes, Stream stream) {
  if (!block.pinned) throw std::runtime_error("upload_async: the host block is not page-locked (no GPU or no CUDA)");
  if (bytes > block.bytes) throw std::invalid_argument("upload_async: copy larger than the host block");
#if FRCNN_WITH_CUDA
  pinned_upload_cuda(dst, block.data, bytes, block.event, stream);
  block.event_pending = true;
#else
  (void)dst;
  (void)stream;
#endif
}

Tensor upload_to(const Tensor& host, HostBlock* staged, const Device& dev, Stream stream) {
  Tensor d = Tensor::empty(host.shape(), host.dtype(), dev, stream);
  if (staged && staged->pinned)
    upload_async(*staged, d.raw_data(), host.nbytes(), stream);
  else
    d.copy_from(host, stream);
  return d;
}

}  // namespace frcnn
