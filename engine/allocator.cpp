#include "engine/allocator.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/log.h"

namespace frcnn {

namespace {

class HostBackend : public RawBackend {
 public:
  void* allocate(size_t bytes) override {
    size_t n = (bytes + 63) / 64 * 64;
    return std::aligned_alloc(64, n == 0 ? 64 : n);
  }
  void release(void* p) override { std::free(p); }
  Device device() const override { return Device::cpu(); }
};

}  // namespace

std::unique_ptr<RawBackend> make_host_backend() { return std::make_unique<HostBackend>(); }

#if FRCNN_WITH_CUDA
std::unique_ptr<RawBackend> make_cuda_backend_impl(int index);  // allocator_cuda.cpp
#endif

std::unique_ptr<RawBackend> make_cuda_backend(int index) {
#if FRCNN_WITH_CUDA
  return make_cuda_backend_impl(index);
#else
  (void)index;
  throw std::runtime_error("CUDA memory requested, but this frcnn was built without CUDA");
#endif
}

// ---- CachingAllocator -------------------------------------------------------

CachingAllocator::CachingAllocator(std::unique_ptr<RawBackend> backend) : backend_(std::move(backend)) {}

CachingAllocator::~CachingAllocator() {
  // Live blocks at exit belong to tensors that outlive the allocator (static
  // destruction order); leaking them is safer than freeing memory still referenced.
  empty_cache();
}

size_t CachingAllocator::round_size(size_t bytes) {
  constexpr size_t kSmall = 512, kLarge = size_t(2) << 20, kSplit = size_t(1) << 20;
  if (bytes == 0) return kSmall;
  if (bytes < kSplit) return (bytes + kSmall - 1) / kSmall * kSmall;
  return (bytes + kLarge - 1) / kLarge * kLarge;
}

void* CachingAllocator::take_cached(size_t size, uint64_t stream) {
  // Best fit on the same stream, wasting at most the size itself (a 4 MiB request may
  // take an 8 MiB block, not a 1 GiB one).
  for (auto it = free_.lower_bound(size); it != free_.end() && it->first <= 2 * size; ++it) {
    if (it->second.second != stream) continue;
    void* p = it->second.first;
    size_t bsize = it->first;
    free_.erase(it);
    live_[p] = Block{bsize, stream};
    return p;
  }
  return nullptr;
}

void* CachingAllocator::allocate(size_t bytes, Stream stream) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto ap = active_pool_.find(stream.id); ap != active_pool_.end()) {
    Pool& pool = pools_.at(ap->second);
    const size_t size = round_size(bytes);
    void* p = nullptr;
    auto it = pool.free.lower_bound(size);
    if (it != pool.free.end() && it->first <= 2 * size) {
      p = it->second;
      live_[p] = Block{it->first, stream.id, ap->second};
      pool.free.erase(it);
      ++stats_.cache_hits;
    } else {
      p = backend_->allocate(size);
      if (!p)
        throw std::runtime_error("out of memory on " + backend_->device().str() + ": requested " +
                                 std::to_string(bytes) + " bytes for a memory pool with " +
                                 std::to_string(stats_.bytes_in_use) + " in use");
      ++stats_.raw_allocs;
      stats_.bytes_reserved += size;
      pool.reserved += size;
      live_[p] = Block{size, stream.id, ap->second};
    }
    stats_.bytes_in_use += live_[p].size;
    if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
    return p;
  }
  const size_t size = caching_ ? round_size(bytes) : std::max<size_t>(bytes, 1);
  void* p = caching_ ? take_cached(size, stream.id) : nullptr;
  if (p) {
    ++stats_.cache_hits;
  } else {
    p = backend_->allocate(size);
    if (!p) {
      // Out of memory: give the cache back and try once more.
      for (auto& kv : free_) release_locked(kv.second.first, kv.first);
      free_.clear();
      p = backend_->allocate(size);
      if (!p)
        throw std::runtime_error("out of memory on " + backend_->device().str() + ": requested " +
                                 std::to_string(bytes) + " bytes with " + std::to_string(stats_.bytes_in_use) +
                                 " in use");
    }
    ++stats_.raw_allocs;
    stats_.bytes_reserved += size;
    live_[p] = Block{size, stream.id};
  }
  stats_.bytes_in_use += live_[p].size;
  if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
  return p;
}

void CachingAllocator::deallocate(void* p) {
  if (!p) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(p);
  if (it == live_.end()) throw std::logic_error("CachingAllocator::deallocate: pointer not allocated here");
  stats_.bytes_in_use -= it->second.size;
  if (it->second.pool) {  // back to its pool, or to the backend when the pool is gone
    auto pool = pools_.find(it->second.pool);
    if (pool != pools_.end()) {
      pool->second.free.emplace(it->second.size, p);
    } else {
      release_locked(p, it->second.size);
    }
  } else if (caching_ && !dead_streams_.count(it->second.stream)) {
    free_.emplace(it->second.size, std::make_pair(p, it->second.stream));
  } else {
    release_locked(p, it->second.size);
  }
  live_.erase(it);
}

void CachingAllocator::release_locked(void* p, size_t size) {
  backend_->release(p);
  ++stats_.raw_frees;
  stats_.bytes_reserved -= size;
}

void CachingAllocator::release_stream(uint64_t stream_id) {
  if (stream_id == 0) return;  // the legacy default stream never dies
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = free_.begin(); it != free_.end();) {
    if (it->second.second == stream_id) {
      release_locked(it->second.first, it->first);
      it = free_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& kv : live_)
    if (kv.second.stream == stream_id) {
      dead_streams_.insert(stream_id);
      break;
    }
}

void CachingAllocator::set_caching(bool on) {
  if (!on) empty_cache();
  std::lock_guard<std::mutex> lock(mu_);
  caching_ = on;
}

bool CachingAllocator::caching() const {
  std::lock_guard<std::mutex> lock(mu_);
  return caching_;
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& kv : free_) release_locked(kv.second.first, kv.first);
  free_.clear();
}

uint64_t CachingAllocator::create_pool() {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t id = next_pool_++;
  pools_[id];
  return id;
}

void CachingAllocator::set_active_pool(uint64_t stream_id, uint64_t pool) {
  std::lock_guard<std::mutex> lock(mu_);
  if (pool == 0) {
    active_pool_.erase(stream_id);
    return;
  }
  if (!pools_.count(pool)) throw std::logic_error("CachingAllocator::set_active_pool: no pool " + std::to_string(pool));
  active_pool_[stream_id] = pool;
}

uint64_t CachingAllocator::active_pool(uint64_t stream_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = active_pool_.find(stream_id);
  return it == active_pool_.end() ? 0 : it->second;
}

void CachingAllocator::release_pool(uint64_t pool) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pools_.find(pool);
  if (it == pools_.end()) return;
  for (auto& kv : it->second.free) release_locked(kv.second, kv.first);
  pools_.erase(it);  // its live blocks go to the backend when freed (deallocate)
  for (auto a = active_pool_.begin(); a != active_pool_.end();) a = a->second == pool ? active_pool_.erase(a) : ++a;
}

size_t CachingAllocator::pool_bytes(uint64_t pool) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pools_.find(pool);
  return it == pools_.end() ? 0 : it->second.reserved;
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.peak_bytes_in_use = stats_.bytes_in_use;
}

// ---- process-wide allocators -----------------------------------------------

namespace {
std::mutex g_alloc_mu;
std::vector<std::unique_ptr<CachingAllocator>>& cuda_allocators() {
  // Never destroyed: tensors in static objects may be freed after main returns.
  static auto* v = new std::vector<std::unique_ptr<CachingAllocator>>();
  return *v;
}
CachingAllocator& cuda_allocator(int index) {
  require_device(Device::cuda(index));
  std::lock_guard<std::mutex> lock(g_alloc_mu);
  auto& v = cuda_allocators();
  if (static_cast<int>(v.size()) <= index) v.resize(index + 1);
  if (!v[index]) {
    v[index] = std::make_unique<CachingAllocator>(make_cuda_backend(index));
    // FRCNN_CUDA_CACHING=0|1; default on, except on the emulated GPU (see the header).
    const char* env = std::getenv("FRCNN_CUDA_CACHING");
    v[index]->set_caching(env && *env ? std::string(env) != "0" : !FRCNN_CUDA_EMULATION);
  }
  return *v[index];
}

CachingAllocator& host_allocator() {
  // Never destroyed, like the CUDA ones. Caching off: see the header comment.
  static CachingAllocator* host = [] {
    auto* a = new CachingAllocator(make_host_backend());
    a->set_caching(false);
    return a;
  }();
  return *host;
}

CachingAllocator& allocator_of(const Device& d) { return d.is_cpu() ? host_allocator() : cuda_allocator(d.index); }
}  // namespace

Allocator& default_allocator(const Device& d) { return allocator_of(d); }
CachingAllocator& caching_allocator(const Device& d) { return allocator_of(d); }
AllocatorStats allocator_stats(const Device& d) { return allocator_of(d).stats(); }
void reset_allocator_peak(const Device& d) { allocator_of(d).reset_peak(); }

void release_stream_blocks(const Stream& s) {
  if (s.id == 0) return;
  std::vector<CachingAllocator*> all;
  {
    std::lock_guard<std::mutex> lock(g_alloc_mu);
    for (auto& a : cuda_allocators())
      if (a) all.push_back(a.get());
  }
  for (CachingAllocator* a : all) a->release_stream(s.id);
}

AllocatorStats cuda_allocator_stats(int index) { return cuda_allocator(index).stats(); }
void cuda_empty_cache(int index) { cuda_allocator(index).empty_cache(); }
void cuda_set_caching(bool on, int index) { cuda_allocator(index).set_caching(on); }
bool cuda_caching(int index) { return cuda_allocator(index).caching(); }

// ---- MemoryPool, PoolScope --------------------------------------------------------

MemoryPool::MemoryPool(const Device& d) : device_(d), id_(caching_allocator(d).create_pool()) {}
MemoryPool::~MemoryPool() { caching_allocator(device_).release_pool(id_); }
size_t MemoryPool::bytes() const { return caching_allocator(device_).pool_bytes(id_); }

PoolScope::PoolScope(MemoryPool& pool, Stream stream)
    : alloc_(caching_allocator(pool.device())), stream_(stream.id), previous_(alloc_.active_pool(stream.id)) {
  alloc_.set_active_pool(stream_, pool.id());
}
PoolScope::~PoolScope() {
  try {
    alloc_.set_active_pool(stream_, previous_);
  } catch (...) {
    alloc_.set_active_pool(stream_, 0);  // the previous pool is gone
  }
}

// ---- Buffer -------------------------------------------------------------------

Buffer::Buffer(size_t bytes, const Device& device, Stream stream) : bytes_(bytes), device_(device) {
  alloc_ = &default_allocator(device);
  ptr_ = alloc_->allocate(bytes, stream);
}

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    reset();
    ptr_ = o.ptr_;
    bytes_ = o.bytes_;
    device_ = o.device_;
    alloc_ = o.alloc_;
    o.ptr_ = nullptr;
    o.bytes_ = 0;
    o.alloc_ = nullptr;
  }
  return *this;
}

void Buffer::reset() {
  if (ptr_ && alloc_) alloc_->deallocate(ptr_);
  ptr_ = nullptr;
  bytes_ = 0;
  alloc_ = nullptr;
}

}  // namespace frcnn
