// Memory for tensors.
//
// RawBackend         gets and returns memory from the system (malloc, cudaMalloc).
// CachingAllocator   keeps freed blocks in size buckets and hands them out again, so a
//                    training loop does not cudaMalloc every step. Blocks remember the
//                    stream they were allocated on (by Stream::id, never by handle: the
//                    driver reuses handles) and are reused only on that stream, so
//                    reuse needs no synchronisation. When a stream dies its cached
//                    blocks go back to the backend, and its blocks still in use go back
//                    when freed. Counters: bytes in use, peak, reserved, raw
//                    allocations, cache hits.
// Buffer             a move-only RAII allocation (what Storage holds).
// MemoryPool         a private pool of the caching allocator (PoolScope activates it on a
//                    stream): what a captured CUDA graph needs, its memory reserved for it.
//
// The caching logic is device-agnostic and tested on the CPU with a malloc backend;
// the CUDA build plugs in cudaMalloc/cudaFree. default_allocator(device) returns the
// process-wide allocator of a device (one per GPU, created on first use), as every
// framework's tensor allocator is. The CPU's is the same class with caching off (malloc
// is fast, and ASan/valgrind then see every use after free), so its counters — peak
// bytes in use above all — work the same on both devices.
//
// Caching can be switched off (set_caching(false), or FRCNN_CUDA_CACHING=0 for the
// process-wide CUDA allocators): every request is then its own backend allocation of
// exactly the bytes asked for, released on free, as PyTorch's
// PYTORCH_NO_CUDA_MEMORY_CACHING does. Memory checkers then see every overrun and use
// after free; the emulated GPU build (docs/EMULATION.md) runs without caching by default
// so that every tensor starts as the emulator's poison.
#pragma once
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "engine/device.h"
#include "engine/stream.h"

namespace frcnn {

class RawBackend {
 public:
  virtual ~RawBackend() = default;
  virtual void* allocate(size_t bytes) = 0;  // nullptr when out of memory
  virtual void release(void* p) = 0;
  virtual Device device() const = 0;
};

// 64-byte aligned host memory.
std::unique_ptr<RawBackend> make_host_backend();
// cudaMalloc on GPU `index` (throws without CUDA).
std::unique_ptr<RawBackend> make_cuda_backend(int index);

struct AllocatorStats {
  size_t bytes_in_use = 0;       // handed out and not yet freed (rounded sizes)
  size_t peak_bytes_in_use = 0;  // since construction or reset_peak()
  size_t bytes_reserved = 0;     // in use + cached
  size_t raw_allocs = 0;         // calls into the backend
  size_t raw_frees = 0;
  size_t cache_hits = 0;         // allocations served from the cache
};

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t bytes, Stream stream) = 0;
  virtual void deallocate(void* p) = 0;
  virtual Device device() const = 0;
};

class CachingAllocator : public Allocator {
 public:
  explicit CachingAllocator(std::unique_ptr<RawBackend> backend);
  ~CachingAllocator() override;
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // Zero bytes gives a valid, unique, non-null pointer (one minimum block).
  void* allocate(size_t bytes, Stream stream) override;
  void deallocate(void* p) override;
  Device device() const override { return backend_->device(); }

  void empty_cache();  // returns every cached (free) block to the backend
  // The stream is gone (its work finished): its cached blocks return to the backend now,
  // its live ones when they are freed. Stream ids are never reused, so nothing else
  // could take them, but they would sit in the cache for good.
  void release_stream(uint64_t stream_id);
  AllocatorStats stats() const;
  void reset_peak();
  // Off: exact-size backend allocations, released on free (empties the cache now).
  void set_caching(bool on);
  bool caching() const;

  // Bucket size for a request: multiples of 512 B below 1 MiB, of 2 MiB above.
  static size_t round_size(size_t bytes);

  // Private pools. While pool P is active on a stream, that stream's allocations come
  // from P's free blocks, or from new backend memory that then belongs to P; a block of
  // P goes back to P when freed — whatever caching says — and only P's allocations get
  // it. So memory a CUDA graph was captured with is never handed to other work between
  // its replays, and a warm pool makes a replay's allocations (if any) free of backend
  // calls. release_pool(P) returns P's free blocks now and its live ones when freed.
  uint64_t create_pool();
  void set_active_pool(uint64_t stream_id, uint64_t pool);  // pool 0: none
  uint64_t active_pool(uint64_t stream_id) const;
  void release_pool(uint64_t pool);
  size_t pool_bytes(uint64_t pool) const;  // reserved by the pool (free + live)

 private:
  struct Block {
    size_t size;
    uint64_t stream;    // Stream::id
    uint64_t pool = 0;  // 0: the shared cache
  };
  void* take_cached(size_t size, uint64_t stream);  // nullptr when nothing fits
  void release_locked(void* p, size_t size);        // back to the backend

  std::unique_ptr<RawBackend> backend_;
  mutable std::mutex mu_;
  std::multimap<size_t, std::pair<void*, uint64_t>> free_;  // size -> (ptr, stream id)
  std::unordered_map<void*, Block> live_;
  std::unordered_set<uint64_t> dead_streams_;  // released streams with blocks still live
  struct Pool {
    std::multimap<size_t, void*> free;  // size -> ptr
    size_t reserved = 0;
  };
  std::unordered_map<uint64_t, Pool> pools_;
  std::unordered_map<uint64_t, uint64_t> active_pool_;  // stream id -> pool
  uint64_t next_pool_ = 1;
  AllocatorStats stats_;
  bool caching_ = true;
};

// Process-wide allocator of a device (see the header comment).
Allocator& default_allocator(const Device& d);
// Its counters and peak reset, on either device.
AllocatorStats allocator_stats(const Device& d);
void reset_allocator_peak(const Device& d);
// A stream is being destroyed: every CUDA allocator releases what it keeps for it
// (CachingAllocator::release_stream). CudaStream's destructor calls it.
void release_stream_blocks(const Stream& s);
// The CUDA allocators' counters and knobs.
AllocatorStats cuda_allocator_stats(int index = 0);
void cuda_empty_cache(int index = 0);
void cuda_set_caching(bool on, int index = 0);
bool cuda_caching(int index = 0);

// The process-wide caching allocator of a device (the CPU's has caching off).
CachingAllocator& caching_allocator(const Device& d);

// A private pool of a device's allocator (see CachingAllocator), released on destruction.
class MemoryPool {
 public:
  explicit MemoryPool(const Device& d);
  ~MemoryPool();
  MemoryPool(const MemoryPool&) = delete;
  MemoryPool& operator=(const MemoryPool&) = delete;
  uint64_t id() const { return id_; }
  const Device& device() const { return device_; }
  size_t bytes() const;  // reserved by the pool

 private:
  Device device_;
  uint64_t id_;
};

// Allocations on `stream` come from `pool` for the scope's life (scopes on one stream
// nest: the previous pool is restored).
class PoolScope {
 public:
  PoolScope(MemoryPool& pool, Stream stream);
  ~PoolScope();
  PoolScope(const PoolScope&) = delete;
  PoolScope& operator=(const PoolScope&) = delete;

 private:
  CachingAllocator& alloc_;
  uint64_t stream_, previous_;
};

// A move-only owning allocation.
class Buffer {
 public:
  Buffer() = default;
  Buffer(size_t bytes, const Device& device, Stream stream = {});
  ~Buffer() { reset(); }
  Buffer(Buffer&& o) noexcept { *this = std::move(o); }
  Buffer& operator=(Buffer&& o) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* data() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  const Device& device() const { return device_; }
  void reset();

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
  Allocator* alloc_ = nullptr;
};

}  // namespace frcnn
