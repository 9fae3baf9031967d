#include <catch2/catch.hpp>
#include <set>

#include "engine/allocator.h"
#include "engine/tensor.h"
#include "tests/gpu.h"

using namespace frcnn;

namespace {
// Host memory behind the caching logic, so the cache is tested without a GPU.
class CountingBackend : public RawBackend {
 public:
  explicit CountingBackend(size_t limit = SIZE_MAX) : limit_(limit) {}
  void* allocate(size_t b) override {
    if (held_ + b > limit_) return nullptr;
    held_ += b;
    void* p = make_host_backend()->allocate(b);
    ptrs_[p] = b;
    return p;
  }
  void release(void* p) override {
    held_ -= ptrs_.at(p);
    ptrs_.erase(p);
    std::free(p);
  }
  Device device() const override { return Device::cuda(0); }
  size_t held_ = 0, limit_;
  std::map<void*, size_t> ptrs_;
};
}  // namespace

TEST_CASE("allocator: size buckets", "[allocator]") {
  REQUIRE(CachingAllocator::round_size(0) == 512);
  REQUIRE(CachingAllocator::round_size(1) == 512);
  REQUIRE(CachingAllocator::round_size(513) == 1024);
  REQUIRE(CachingAllocator::round_size((1 << 20) - 1) == (1 << 20));
  REQUIRE(CachingAllocator::round_size((1 << 20) + 1) == (2 << 20));
  REQUIRE(CachingAllocator::round_size(5 << 20) == (6 << 20));
}

TEST_CASE("allocator: freed blocks are reused and counters track use and peak", "[allocator]") {
  auto backend = std::make_unique<CountingBackend>();
  auto* raw = backend.get();
  CachingAllocator a(std::move(backend));
  Stream s{};
  // A training-loop pattern: the same sizes every iteration.
  std::set<void*> first;
  for (int iter = 0; iter < 5; ++iter) {
    void* x = a.allocate(3000, s);
    void* y = a.allocate(3 << 20, s);
    void* z = a.allocate(100, s);
    if (iter == 0) first = {x, y, z};
    else REQUIRE(std::set<void*>{x, y, z} == first);
    a.deallocate(z);
    a.deallocate(y);
    a.deallocate(x);
  }
  auto st = a.stats();
  REQUIRE(st.raw_allocs == 3);  // only the first iteration reached the backend
  REQUIRE(st.cache_hits == 12);
  REQUIRE(st.bytes_in_use == 0);
  REQUIRE(st.peak_bytes_in_use == 3072 + (4 << 20) + 512);
  REQUIRE(st.bytes_reserved == raw->held_);
  a.empty_cache();
  REQUIRE(raw->held_ == 0);
  REQUIRE(a.stats().bytes_reserved == 0);
}

TEST_CASE("allocator: blocks are reused only on their own stream and not if far too big", "[allocator]") {
  CachingAllocator a(std::make_unique<CountingBackend>());
  Stream s1{reinterpret_cast<void*>(0x1), 1}, s2{reinterpret_cast<void*>(0x2), 2};
  void* p = a.allocate(4096, s1);
  a.deallocate(p);
  void* q = a.allocate(4096, s2);
  REQUIRE(q != p);
  void* r = a.allocate(4096, s1);
  REQUIRE(r == p);
  void* big = a.allocate(64 << 20, s1);
  a.deallocate(big);
  void* small = a.allocate(4 << 20, s1);  // would waste 60 MiB of the cached block
  REQUIRE(small != big);
  REQUIRE_THROWS_AS(a.deallocate(reinterpret_cast<void*>(0x1234)), std::logic_error);
  // The allocator leaves live blocks alone when destroyed (their tensors may outlive it):
  // give them back, so the leak checker sees none.
  for (void* b : {q, r, small}) a.deallocate(b);
}

TEST_CASE("allocator: a new stream with a dead stream's handle never gets its blocks", "[allocator]") {
  // The driver may give a new stream the handle of a destroyed one; the allocator keys
  // blocks by Stream::id, and a released stream's blocks go back to the backend.
  auto backend = std::make_unique<CountingBackend>();
  auto* raw = backend.get();
  CachingAllocator a(std::move(backend));
  void* const h = reinterpret_cast<void*>(0x42);
  const Stream old_stream{h, 7}, new_stream{h, 8};
  void* cached = a.allocate(4096, old_stream);
  void* live = a.allocate(8192, old_stream);
  a.deallocate(cached);
  // Same handle, another stream: no reuse even before the old one is released.
  void* other = a.allocate(4096, new_stream);
  REQUIRE(a.stats().cache_hits == 0);
  a.deallocate(other);
  a.release_stream(old_stream.id);
  auto st = a.stats();
  REQUIRE(st.raw_frees == 1);  // the cached block of the dead stream is gone
  REQUIRE(raw->ptrs_.count(cached) == 0);
  REQUIRE(st.bytes_reserved == raw->held_);
  // A block still in use when its stream died goes to the backend when freed, not to the cache.
  a.deallocate(live);
  REQUIRE(a.stats().raw_frees == 2);
  REQUIRE(raw->ptrs_.count(live) == 0);
  // The live stream's own reuse is untouched.
  void* again = a.allocate(4096, new_stream);
  REQUIRE(again == other);
  REQUIRE(a.stats().cache_hits == 1);
  a.deallocate(again);
}

TEST_CASE("allocator: the CPU allocator counts bytes in use and the peak", "[allocator]") {
  const Device cpu = Device::cpu();
  const AllocatorStats before = allocator_stats(cpu);
  reset_allocator_peak(cpu);
  {
    Tensor t = Tensor::empty({1000, 250}, DType::F32, cpu);  // 1,000,000 bytes
    REQUIRE(allocator_stats(cpu).bytes_in_use == before.bytes_in_use + 1000000);
  }
  const AllocatorStats after = allocator_stats(cpu);
  REQUIRE(after.bytes_in_use == before.bytes_in_use);
  REQUIRE(after.peak_bytes_in_use >= before.bytes_in_use + 1000000);
  REQUIRE(after.cache_hits == before.cache_hits);  // no caching on the CPU
}

TEST_CASE("allocator: a destroyed CUDA stream's cached blocks return to the device", "[allocator][gpu]") {
  FRCNN_REQUIRE_GPU();
  const bool was = cuda_caching();
  cuda_set_caching(true);
  cuda_empty_cache();
  const AllocatorStats before = cuda_allocator_stats();
  {
    CudaStream s;
    Buffer b(1 << 20, Device::cuda(), s.get());
  }  // b freed (cached on s), then s destroyed: the block must not stay cached
  const AllocatorStats after = cuda_allocator_stats();
  REQUIRE(after.raw_allocs - before.raw_allocs == 1);
  REQUIRE(after.raw_frees - before.raw_frees == 1);
  REQUIRE(after.bytes_reserved == before.bytes_reserved);
  cuda_set_caching(was);
}

TEST_CASE("allocator: out of memory empties the cache and retries then throws", "[allocator]") {
  auto backend = std::make_unique<CountingBackend>(8 << 20);
  CachingAllocator a(std::move(backend));
  void* p = a.allocate(6 << 20, {});
  a.deallocate(p);  // cached, 6 MiB of the 8 MiB budget still held
  void* q = a.allocate(4 << 20, {reinterpret_cast<void*>(0x9), 9});  // other stream: needs the cache back
  REQUIRE(q != nullptr);
  REQUIRE_THROWS_WITH(a.allocate(6 << 20, {}), Catch::Contains("out of memory"));
  a.deallocate(q);
}

TEST_CASE("allocator: Buffer is move-only RAII", "[allocator]") {
  Buffer b(100, Device::cpu());
  REQUIRE(b.data() != nullptr);
  Buffer c = std::move(b);
  REQUIRE(b.data() == nullptr);
  REQUIRE(c.bytes() == 100);
  c.reset();
  REQUIRE(c.data() == nullptr);
}

TEST_CASE("allocator: CUDA tensors reuse cached memory", "[allocator][gpu]") {
  FRCNN_REQUIRE_GPU();
  const bool was = cuda_caching();
  cuda_set_caching(true);
  cuda_empty_cache();
  auto before = cuda_allocator_stats();
  for (int i = 0; i < 10; ++i) {
    Tensor t = Tensor::empty({1024, 1024}, DType::F32, Device::cuda());
    t.fill_(1.0);
  }
  auto after = cuda_allocator_stats();
  REQUIRE(after.raw_allocs - before.raw_allocs == 1);
  REQUIRE(after.cache_hits - before.cache_hits == 9);
  REQUIRE(after.bytes_in_use == before.bytes_in_use);
  cuda_set_caching(was);
}

TEST_CASE("allocator: without caching every block is its own exact allocation", "[allocator]") {
  CachingAllocator a(make_host_backend());
  a.set_caching(false);
  void* p = a.allocate(100, {});
  REQUIRE(a.stats().bytes_in_use == 100);  // not rounded to 512
  a.deallocate(p);
  void* q = a.allocate(100, {});
  a.deallocate(q);
  auto s = a.stats();
  REQUIRE(s.raw_allocs == 2);
  REQUIRE(s.raw_frees == 2);
  REQUIRE(s.cache_hits == 0);
  REQUIRE(s.bytes_reserved == 0);
  // switching off gives the cache back
  CachingAllocator b(make_host_backend());
  b.deallocate(b.allocate(1000, {}));
  REQUIRE(b.stats().bytes_reserved == 1024);
  b.set_caching(false);
  REQUIRE(b.stats().bytes_reserved == 0);
}

TEST_CASE("allocator: a private pool reuses its own blocks and never lends them out", "[allocator]") {
  auto backend = std::make_unique<CountingBackend>();
  CountingBackend* raw = backend.get();
  CachingAllocator a(std::move(backend));
  a.set_caching(false);  // pools keep their blocks whatever caching says
  const Stream s{nullptr, 7}, other{nullptr, 8};
  const uint64_t pool = a.create_pool();
  a.set_active_pool(s.id, pool);
  void* p1 = a.allocate(1000, s);
  void* p2 = a.allocate(3000, s);
  a.deallocate(p1);
  a.deallocate(p2);
  REQUIRE(a.stats().raw_allocs == 2);
  REQUIRE(a.stats().raw_frees == 0);        // back to the pool, not to the backend
  REQUIRE(a.pool_bytes(pool) == 1024 + 3072);
  // The same sequence again: served by the pool, the same addresses, no backend call.
  REQUIRE(a.allocate(1000, s) == p1);
  REQUIRE(a.allocate(3000, s) == p2);
  REQUIRE(a.stats().raw_allocs == 2);
  a.deallocate(p1);
  // Outside the pool (another stream, or this one after the scope): never a pool block.
  void* q = a.allocate(1000, other);
  REQUIRE(q != p1);
  a.deallocate(q);
  a.set_active_pool(s.id, 0);
  void* r = a.allocate(1000, s);
  REQUIRE(r != p1);
  a.deallocate(r);
  // Releasing the pool returns its free blocks now and its live one when freed.
  const size_t held = raw->held_;
  a.release_pool(pool);
  REQUIRE(raw->held_ == held - 1024);
  a.deallocate(p2);
  REQUIRE(raw->held_ == held - 1024 - 3072);
  REQUIRE_THROWS_AS(a.set_active_pool(s.id, pool), std::logic_error);
}

TEST_CASE("allocator: PoolScope makes a MemoryPool serve a stream's tensors, and nests", "[allocator]") {
  // The CPU allocator (caching off): without the pool every tensor is a new allocation.
  const Device cpu = Device::cpu();
  const Stream s{nullptr, 12345};
  MemoryPool outer(cpu), inner(cpu);
  void* first = nullptr;
  {
    PoolScope scope(outer, s);
    Tensor t = Tensor::empty({256}, DType::F32, cpu, s);
    first = t.raw_data();
  }
  REQUIRE(outer.bytes() == 1024);
  {
    PoolScope scope(outer, s);
    const size_t raw_before = allocator_stats(cpu).raw_allocs;
    Tensor t = Tensor::empty({200}, DType::F32, cpu, s);  // fits the freed 1 KiB block
    REQUIRE(t.raw_data() == first);
    {
      PoolScope nested(inner, s);
      Tensor u = Tensor::empty({16}, DType::F32, cpu, s);
      REQUIRE(inner.bytes() == 512);
    }
    Tensor v = Tensor::empty({16}, DType::F32, cpu, s);  // the outer pool again
    REQUIRE(outer.bytes() == 1024 + 512);
    REQUIRE(allocator_stats(cpu).raw_allocs == raw_before + 2);
  }
  REQUIRE(caching_allocator(cpu).active_pool(s.id) == 0);
}
