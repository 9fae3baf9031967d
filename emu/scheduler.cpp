// The block scheduler of the CUDA emulation.
//
// A grid runs one block at a time, blocks in the schedule's order. Every CUDA thread of
// a block is a fiber (Boost.Context fcontext, its own stack) that runs until it reaches
// __syncthreads(), a warp function, or returns. Between two such points the block's
// threads run one after the other, in the schedule's order (forward, reverse or seeded
// random, FRCNN_EMU_SCHEDULE), which is what makes a missing barrier change a result.
//   __syncthreads      released when every live thread of the block waits at it; waiting
//                      at different barriers, or returning while others wait, is an error.
//   warp functions     released when every live lane named in the mask waits at one;
//                      lanes meanwhile waiting at __syncthreads are a deadlock (error).
// Shared memory (static and dynamic) is allocated per block, exactly as large as
// declared, and filled with the poison byte before the block's first access.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <boost/context/detail/fcontext.hpp>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "emu/internal.h"
#include "emu/launch.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define EMU_ASAN 1
#endif

namespace bctx = boost::context::detail;

namespace emu {
namespace detail {
namespace {

// ---- fiber stacks ------------------------------------------------------------------------

struct Stack {
  char* base = nullptr;  // mapping start: one guard page, then `size` usable bytes
  size_t size = 0;
  char* bottom() const { return base + page_size(); }
  char* top() const { return base + page_size() + size; }
};

class StackPool {
 public:
  Stack get() {
    if (!free_.empty()) {
      Stack s = free_.back();
      free_.pop_back();
      return s;
    }
    const size_t size = config().stack_bytes;
    char* b = static_cast<char*>(
        mmap(nullptr, size + page_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
    if (b == MAP_FAILED) {
      perror("[cuda-emu] mmap of a CUDA thread's stack");
      abort();
    }
    mprotect(b, page_size(), PROT_NONE);  // a stack overflow faults instead of corrupting
    return {b, size};
  }
  // dirty: the thread was abandoned mid-way (__trap): its frames' ASan redzones remain.
  void put(Stack s, bool dirty) {
#ifdef EMU_ASAN
    if (dirty) ASAN_UNPOISON_MEMORY_REGION(s.bottom(), s.size);
#else
    (void)dirty;
#endif
    free_.push_back(s);
  }

 private:
  std::vector<Stack> free_;
};

// ---- per-launch state ------------------------------------------------------------------------

enum class St : uint8_t { ready, running, barrier, warp, done };

struct Exchange {  // the values of one completed warp collective
  unsigned mask = 0;
  size_t bytes = 0;
  std::vector<unsigned char> data;  // 32 * bytes
};

struct Thread {
  bctx::fcontext_t ctx = nullptr;
  Stack stack;
  bool has_stack = false;
  uint3 tid{};
  unsigned linear = 0;
  St st = St::ready;
  const char* what = nullptr;  // the barrier or warp function it waits at
  const char* file = nullptr;
  int line = 0;
  int pred = 0;        // barrier predicate
  int bar_result = 0;  // count of true predicates, set at release
  unsigned wmask = 0;  // warp collective: mask, bytes and where the value lies (its own stack)
  size_t wbytes = 0;
  const void* wvalue = nullptr;
  std::shared_ptr<Exchange> wresult;
  void* asan_fake = nullptr;
  // cp.async: the open group and the committed ones, oldest first (emu::async_copy)
  struct AsyncCopy {
    void* dst;
    size_t bytes;
    unsigned char data[16];
  };
  std::vector<AsyncCopy> async_open;
  std::vector<std::vector<AsyncCopy>> async_groups;
};

struct SharedVar {
  const void* tag;
  void* p;
  size_t bytes;
};

struct Grid {
  const LaunchSite* site = nullptr;
  dim3 grid, block;
  size_t shmem = 0;
  size_t smem_limit = 0;  // the kernel's opted-in dynamic shared memory, if any
  void (*thunk)(void*) = nullptr;
  void* arg = nullptr;
  std::vector<Thread> threads;
  Thread* cur = nullptr;
  bctx::fcontext_t sched_ctx = nullptr;
  const void* sched_bottom = nullptr;
  size_t sched_size = 0;
  std::vector<SharedVar> smem;
  void* dyn = nullptr;
  size_t static_bytes = 0;
  uint64_t launch_index = 0;
  bool active = false;
  bool failed = false;  // a device error was reported during this launch
};

StackPool g_pool;
Grid g;
uint64_t g_launches = 0;
std::map<const void*, int> g_max_dyn_smem;  // opted-in dynamic shared memory per kernel

constexpr size_t kDefaultSmem = 48 * 1024;
constexpr size_t kMaxOptinSmem = 227 * 1024;  // Hopper

std::string block_str() {
  char b[96];
  snprintf(b, sizeof b, "block (%u,%u,%u)", blockIdx.x, blockIdx.y, blockIdx.z);
  return b;
}
std::string thread_str(const Thread& t) {
  char b[64];
  snprintf(b, sizeof b, "thread (%u,%u,%u)", t.tid.x, t.tid.y, t.tid.z);
  return b;
}

void vlaunch_error(const char* kind, const char* fmt, va_list ap) {
  char buf[1536];
  vsnprintf(buf, sizeof buf, fmt, ap);
  g.failed = true;
  if (g.site)
    report(kind, "kernel %s launched at %s:%d, %s: %s", g.site->kernel, g.site->file, g.site->line, block_str().c_str(),
           buf);
  else
    report(kind, "%s", buf);
}

// A device error inside the running launch: printed with the kernel and its launch site.
void launch_error(const char* kind, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void launch_error(const char* kind, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlaunch_error(kind, fmt, ap);
  va_end(ap);
}

inline void asan_start(void** fake, const void* bottom, size_t size) {
#ifdef EMU_ASAN
  __sanitizer_start_switch_fiber(fake, bottom, size);
#else
  (void)fake, (void)bottom, (void)size;
#endif
}
inline void asan_finish(void* fake, const void** bottom, size_t* size) {
#ifdef EMU_ASAN
  __sanitizer_finish_switch_fiber(fake, bottom, size);
#else
  (void)fake, (void)bottom, (void)size;
#endif
}

[[noreturn]] void finish_thread() {
  asan_start(nullptr, g.sched_bottom, g.sched_size);  // nullptr: this fiber's fake stack dies
  bctx::jump_fcontext(g.sched_ctx, nullptr);
  __builtin_unreachable();
}

void fiber_entry(bctx::transfer_t t) {
  asan_finish(nullptr, &g.sched_bottom, &g.sched_size);
  g.sched_ctx = t.fctx;
  try {
    g.thunk(g.arg);
  } catch (const std::exception& e) {
    launch_error("exception-in-kernel", "%s threw: %s", thread_str(*g.cur).c_str(), e.what());
  } catch (...) {
    launch_error("exception-in-kernel", "%s threw an exception", thread_str(*g.cur).c_str());
  }
  g.cur->st = St::done;
  finish_thread();
}

// Back to the scheduler from a thread that waits (barrier or warp function).
void wait_here(Thread* t) {
  asan_start(&t->asan_fake, g.sched_bottom, g.sched_size);
  bctx::transfer_t r = bctx::jump_fcontext(g.sched_ctx, nullptr);
  asan_finish(t->asan_fake, &g.sched_bottom, &g.sched_size);
  g.sched_ctx = r.fctx;
}

bool g_dirty_exit = false;  // set by __trap before it abandons the thread

void resume(Thread* t) {
  if (!t->has_stack) {
    t->stack = g_pool.get();
    t->has_stack = true;
    t->ctx = bctx::make_fcontext(t->stack.top(), t->stack.size, fiber_entry);
  }
  t->st = St::running;
  g.cur = t;
  threadIdx = t->tid;
  void* fake = nullptr;
  asan_start(&fake, t->stack.bottom(), t->stack.size);
  bctx::transfer_t r = bctx::jump_fcontext(t->ctx, nullptr);
  asan_finish(fake, nullptr, nullptr);
  t->ctx = r.fctx;
  g.cur = nullptr;
  if (t->st == St::done) {
    g_pool.put(t->stack, g_dirty_exit);
    g_dirty_exit = false;
    t->has_stack = false;
    t->wresult.reset();
  }
}

// The order in which n threads (or blocks) run in one phase.
void make_order(std::vector<unsigned>& o, unsigned n, uint64_t salt) {
  o.resize(n);
  for (unsigned i = 0; i < n; ++i) o[i] = i;
  const Config& c = config();
  if (c.order == Order::reverse) std::reverse(o.begin(), o.end());
  if (c.order == Order::random) {
    std::mt19937_64 gen(uint64_t(c.seed) * 0x9E3779B97F4A7C15ull ^ salt);
    std::shuffle(o.begin(), o.end(), gen);
  }
}

uint64_t mix(uint64_t a, uint64_t b) { return (a * 0x100000001B3ull) ^ (b + 0x9E3779B97F4A7C15ull + (a << 6)); }

// Completes the warp collectives whose lanes have all arrived; returns whether any did.
bool complete_warp_collectives() {
  const unsigned n = unsigned(g.threads.size());
  bool any = false;
  for (unsigned w0 = 0; w0 < n; w0 += 32) {
    const unsigned lanes = std::min(32u, n - w0);
    // Each distinct mask among the waiting lanes is one candidate collective.
    for (unsigned l = 0; l < lanes; ++l) {
      Thread& lead = g.threads[w0 + l];
      if (lead.st != St::warp) continue;
      const unsigned mask = lead.wmask;
      bool complete = true;
      for (unsigned m = 0; m < lanes && complete; ++m) {
        if (!((mask >> m) & 1u)) continue;
        const Thread& t = g.threads[w0 + m];
        if (t.st == St::done) continue;  // exited lanes may be named (CUDA's rule)
        if (t.st != St::warp || t.wmask != mask) complete = false;
      }
      if (!complete) continue;
      auto ex = std::make_shared<Exchange>();
      ex->bytes = lead.wbytes;
      ex->data.assign(32 * lead.wbytes, 0xFF);
      for (unsigned m = 0; m < lanes; ++m) {
        Thread& t = g.threads[w0 + m];
        if (!((mask >> m) & 1u) || t.st != St::warp) continue;
        if (t.what != lead.what || t.wbytes != lead.wbytes)
          launch_error("divergent-warp-function",
                       "warp %u: lane %u is in %s (%s:%d) while lane %u is in %s (%s:%d) with the same mask 0x%08x",
                       w0 / 32, l, lead.what, lead.file, lead.line, m, t.what, t.file, t.line, mask);
        ex->mask |= 1u << m;
        if (t.wbytes == lead.wbytes && lead.wbytes) memcpy(ex->data.data() + m * lead.wbytes, t.wvalue, lead.wbytes);
      }
      for (unsigned m = 0; m < lanes; ++m) {
        Thread& t = g.threads[w0 + m];
        if (!((ex->mask >> m) & 1u)) continue;
        t.wresult = ex;
        t.st = St::ready;
      }
      any = true;
    }
  }
  return any;
}

// Lanes stuck in warp functions that cannot complete: report and release each alone.
void break_warp_deadlock() {
  for (auto& t : g.threads) {
    if (t.st != St::warp) continue;
    const unsigned w0 = t.linear / 32 * 32;
    std::string why;
    for (unsigned m = 0; m < 32 && w0 + m < g.threads.size(); ++m) {
      if (!((t.wmask >> m) & 1u)) continue;
      const Thread& o = g.threads[w0 + m];
      char b[160];
      if (o.st == St::barrier)
        snprintf(b, sizeof b, " lane %u waits at %s (%s:%d);", m, o.what, o.file, o.line);
      else if (o.st == St::warp && o.wmask != t.wmask)
        snprintf(b, sizeof b, " lane %u waits with mask 0x%08x;", m, o.wmask);
      else
        continue;
      why += b;
    }
    launch_error("warp-deadlock", "%s (lane %u) waits in %s (%s:%d) with mask 0x%08x, which cannot complete:%s",
                 thread_str(t).c_str(), t.linear % 32, t.what, t.file, t.line, t.wmask, why.c_str());
    auto ex = std::make_shared<Exchange>();
    ex->bytes = t.wbytes;
    ex->mask = 1u << (t.linear % 32);
    ex->data.assign(32 * t.wbytes, 0xFF);
    if (t.wbytes) memcpy(ex->data.data() + (t.linear % 32) * t.wbytes, t.wvalue, t.wbytes);
    t.wresult = ex;
    t.st = St::ready;
  }
}

void free_block_smem() {
  for (auto& v : g.smem) free(v.p);
  g.smem.clear();
  free(g.dyn);
  g.dyn = nullptr;
}

void run_block(uint64_t block_salt) {
  const unsigned n = g.block.x * g.block.y * g.block.z;
  g.threads.resize(n);
  for (unsigned i = 0; i < n; ++i) {
    Thread& t = g.threads[i];
    t = Thread{};
    t.linear = i;
    t.tid = {i % g.block.x, (i / g.block.x) % g.block.y, i / (g.block.x * g.block.y)};
  }
  g.static_bytes = 0;
  if (g.shmem) {
    // exactly the launch's bytes (ASan sees an overrun), poisoned
    if (posix_memalign(&g.dyn, 128, g.shmem) != 0) {
      perror("[cuda-emu] dynamic shared memory");
      abort();
    }
    poison_bytes(g.dyn, g.shmem);
  }
  std::vector<unsigned> order;
  uint64_t phase = 0;
  make_order(order, n, mix(mix(g.launch_index, block_salt), phase));
  bool reported_exit = false, reported_divergence = false;
  for (;;) {
    for (unsigned i : order) {
      Thread& t = g.threads[i];
      if (t.st == St::ready) resume(&t);
    }
    if (complete_warp_collectives()) {
      make_order(order, n, mix(mix(g.launch_index, block_salt), ++phase));
      continue;
    }
    unsigned at_barrier = 0, at_warp = 0, done = 0;
    const Thread* first = nullptr;
    for (const auto& t : g.threads) {
      if (t.st == St::barrier) {
        ++at_barrier;
        if (!first) first = &t;
      } else if (t.st == St::warp) {
        ++at_warp;
      } else {
        ++done;
      }
    }
    if (at_warp) {
      break_warp_deadlock();
      continue;
    }
    if (!at_barrier) break;
    int count = 0;
    for (auto& t : g.threads) {
      if (t.st != St::barrier) continue;
      count += t.pred;
      if (!reported_divergence && (t.line != first->line || strcmp(t.file, first->file) != 0)) {
        reported_divergence = true;
        launch_error("divergent-barrier", "%s waits at %s:%d while %s waits at %s:%d (undefined in CUDA)",
                     thread_str(*first).c_str(), first->file, first->line, thread_str(t).c_str(), t.file, t.line);
      }
    }
    if (done && !reported_exit) {
      reported_exit = true;
      const Thread* gone = nullptr;
      for (const auto& t : g.threads)
        if (t.st == St::done) {
          gone = &t;
          break;
        }
      launch_error("barrier-after-exit",
                   "%u thread(s), %s the first, returned while %u wait at %s (%s:%d): the GPU hangs or "
                   "misbehaves there",
                   done, thread_str(*gone).c_str(), at_barrier, first->what, first->file, first->line);
    }
    for (auto& t : g.threads)
      if (t.st == St::barrier) {
        t.st = St::ready;
        t.bar_result = count;
      }
    make_order(order, n, mix(mix(g.launch_index, block_salt), ++phase));
  }
  if (g.static_bytes > kDefaultSmem)
    launch_error("shared-memory-limit", "%zu bytes of static shared memory (at most %zu)", g.static_bytes,
                 kDefaultSmem);
  else if (g.static_bytes + g.shmem > std::max(kDefaultSmem, g.smem_limit))
    launch_error("shared-memory-limit", "%zu bytes of static and %zu of dynamic shared memory (at most %zu)",
                 g.static_bytes, g.shmem, std::max(kDefaultSmem, g.smem_limit));
  free_block_smem();
}

Thread* current(const char* what) {
  if (!g.active || !g.cur) {
    report("device-function-outside-kernel", "%s called outside a kernel", what);
    return nullptr;
  }
  return g.cur;
}

}  // namespace

bool in_kernel() { return g.active; }
uint64_t next_launch_index() { return ++g_launches; }

}  // namespace detail

using namespace detail;

// ---- entry points used by device code ------------------------------------------------------

void device_error(const char* kind, const char* fmt, ...) {
  std::string f = fmt;
  if (g.active && g.cur) f = thread_str(*g.cur) + ": " + f;  // no '%' in thread_str
  va_list ap;
  va_start(ap, fmt);
  vlaunch_error(kind, f.c_str(), ap);
  va_end(ap);
}

unsigned lane_id() { return g.cur ? g.cur->linear % 32 : 0; }

unsigned live_lanes() {
  if (!g.cur) return 0;
  const unsigned w0 = g.cur->linear / 32 * 32;
  unsigned m = 0;
  for (unsigned l = 0; l < 32 && w0 + l < g.threads.size(); ++l)
    if (g.threads[w0 + l].st != St::done) m |= 1u << l;
  return m;
}

int block_barrier(int predicate, const char* what, const char* file, int line) {
  Thread* t = current(what);
  if (!t) return 0;
  t->st = St::barrier;
  t->what = what;
  t->file = file;
  t->line = line;
  t->pred = predicate;
  wait_here(t);
  return t->bar_result;
}

void async_copy(void* smem, const void* src, size_t bytes, size_t src_bytes, const char* file, int line) {
  Thread* t = current("cp.async");
  if (!t) return;
  Thread::AsyncCopy c{smem, bytes, {}};
  if (bytes > sizeof c.data || src_bytes > bytes) {
    launch_error("cp-async-size", "%s: cp.async of %zu bytes (%zu from global) at %s:%d", thread_str(*t).c_str(), bytes,
                 src_bytes, file, line);
    return;
  }
  if (src_bytes) memcpy(c.data, src, src_bytes);
  t->async_open.push_back(c);
}

void async_commit() {
  Thread* t = current("cp.async.commit_group");
  if (!t) return;
  t->async_groups.push_back(std::move(t->async_open));
  t->async_open.clear();
}

void async_wait(unsigned n) {
  Thread* t = current("cp.async.wait_group");
  if (!t) return;
  size_t done = 0;
  for (; t->async_groups.size() - done > n; ++done)
    for (const auto& c : t->async_groups[done]) memcpy(c.dst, c.data, c.bytes);
  t->async_groups.erase(t->async_groups.begin(), t->async_groups.begin() + ptrdiff_t(done));
}

WarpTable warp_collective(unsigned mask, const void* value, size_t bytes, const char* what, const char* file,
                          int line) {
  Thread* t = current(what);
  if (!t) return {nullptr, 0, 0};
  const unsigned lane = t->linear % 32;
  if (!((mask >> lane) & 1u)) {
    launch_error("warp-mask", "%s (lane %u) calls %s with mask 0x%08x, which does not name it", thread_str(*t).c_str(),
                 lane, what, mask);
    mask |= 1u << lane;
  }
  t->st = St::warp;
  t->what = what;
  t->file = file;
  t->line = line;
  t->wmask = mask;
  t->wbytes = bytes;
  t->wvalue = value;
  wait_here(t);
  return {t->wresult->data.data(), t->wresult->bytes, t->wresult->mask};
}

void* static_shared_raw(const void* tag, size_t bytes, size_t align, const char* name, const char* file, int line) {
  if (!g.active) {
    report("shared-outside-kernel", "__shared__ %s (%s:%d) used outside a kernel", name, file, line);
    static unsigned char dummy[64];
    return dummy;
  }
  for (auto& v : g.smem)
    if (v.tag == tag) return v.p;
  void* p = nullptr;
  if (posix_memalign(&p, std::max<size_t>(align, 16), bytes ? bytes : 1) != 0) {
    perror("[cuda-emu] static shared memory");
    abort();
  }
  poison_bytes(p, bytes);
  g.smem.push_back({tag, p, bytes});
  g.static_bytes += bytes;
  return p;
}

void* dynamic_shared_raw(const char* file, int line) {
  if (g.active && g.shmem) return g.dyn;
  if (!g.active || !g.cur) {
    report("dynamic-shared-without-size", "dynamic shared memory used at %s:%d outside a kernel", file, line);
    abort();
  }
  // Any access would be out of bounds: the thread ends here and the launch fails.
  launch_error("dynamic-shared-without-size", "%s uses dynamic shared memory (%s:%d) but the launch gave 0 bytes",
               thread_str(*g.cur).c_str(), file, line);
  g.cur->st = St::done;
  g_dirty_exit = true;
  finish_thread();
}

bool check_kernel_pointer(const LaunchSite& site, size_t index, const void* p) {
  if (!p || is_device_or_pinned(p)) return true;
  report("host-pointer-argument",
         "kernel %s launched at %s:%d: argument %zu (%p) is neither device nor pinned host memory (a GPU faults)",
         site.kernel, site.file, site.line, index, p);
  return false;
}

void run_grid(const LaunchSite& site, const void* func, dim3 grid, dim3 block, size_t shmem, cudaStream_t stream,
              bool args_ok, void (*thunk)(void*), void* arg) {
  DeviceScope scope;  // one grid at a time; device memory is accessible while it runs
  const int64_t errors_before = error_count();
  const unsigned long long nthreads = (unsigned long long)block.x * block.y * block.z;
  const char* bad = nullptr;
  if (grid.x == 0 || grid.y == 0 || grid.z == 0)
    bad = "a grid dimension is 0";
  else if (grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535)
    bad = "a grid dimension is too large (x < 2^31, y, z <= 65535)";
  else if (block.x == 0 || block.y == 0 || block.z == 0)
    bad = "a block dimension is 0";
  else if (block.x > 1024 || block.y > 1024 || block.z > 64 || nthreads > 1024)
    bad = "the block is too large (at most 1024 threads; x, y <= 1024, z <= 64)";
  if (!args_ok) {
    set_last_error(cudaErrorIllegalAddress);  // reported by check_kernel_pointer
    return;
  }
  if (bad) {
    fail(cudaErrorInvalidConfiguration, "invalid-launch",
         "kernel %s launched at %s:%d with grid (%u,%u,%u) block (%u,%u,%u): %s", site.kernel, site.file, site.line,
         grid.x, grid.y, grid.z, block.x, block.y, block.z, bad);
    return;
  }
  auto optin = g_max_dyn_smem.find(func);
  const size_t smem_limit = optin == g_max_dyn_smem.end() ? 0 : size_t(optin->second);
  {
    const size_t limit = std::max(kDefaultSmem, smem_limit);
    if (shmem > limit) {
      fail(cudaErrorInvalidValue, "invalid-launch",
           "kernel %s launched at %s:%d asks for %zu bytes of dynamic shared memory; its limit is %zu (more needs "
           "cudaFuncSetAttribute(MaxDynamicSharedMemorySize))",
           site.kernel, site.file, site.line, shmem, limit);
      return;
    }
  }
  if (!stream_is_valid(stream)) {
    fail(cudaErrorInvalidResourceHandle, "invalid-stream",
         "kernel %s launched at %s:%d on stream %p, which does not exist", site.kernel, site.file, site.line,
         static_cast<void*>(stream));
    return;
  }
  if (check_enqueue(stream, site.kernel) != cudaSuccess) return;
  if (g.active) {
    fail(cudaErrorLaunchFailure, "nested-launch", "kernel %s launched at %s:%d from device code (not emulated)",
         site.kernel, site.file, site.line);
    return;
  }
  count_launch(site.kernel);
  g.site = &site;
  g.smem_limit = smem_limit;
  g.grid = grid;
  g.block = block;
  g.shmem = shmem;
  g.thunk = thunk;
  g.arg = arg;
  g.launch_index = next_launch_index();
  g.failed = false;
  g.active = true;
  gridDim = grid;
  blockDim = block;
  const unsigned long long nblocks = (unsigned long long)grid.x * grid.y * grid.z;
  std::vector<unsigned> border;
  const bool reorder = config().order != Order::forward && nblocks <= (1u << 24);
  if (reorder) make_order(border, unsigned(nblocks), mix(g.launch_index, 0x5bd1e995u));
  for (unsigned long long i = 0; i < nblocks; ++i) {
    const unsigned long long b = reorder ? border[i] : i;
    blockIdx = {unsigned(b % grid.x), unsigned((b / grid.x) % grid.y),
                unsigned(b / ((unsigned long long)grid.x * grid.y))};
    run_block(b);
  }
  g.active = false;
  g.site = nullptr;
  g.threads.clear();
  blockIdx = {0, 0, 0};
  threadIdx = {0, 0, 0};
  if (g.failed || error_count() != errors_before) set_last_error(cudaErrorLaunchFailure);
}

}  // namespace emu

cudaError_t emu_func_set_attribute(const void* func, cudaFuncAttribute attr, int value) {
  using namespace emu::detail;
  DeviceScope scope;  // g_max_dyn_smem is read by launches on any thread
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
    if (value < 0 || size_t(value) > kMaxOptinSmem)
      return fail(cudaErrorInvalidValue, "invalid-attribute", "MaxDynamicSharedMemorySize %d is outside [0, %zu]",
                  value, kMaxOptinSmem);
    g_max_dyn_smem[func] = value;
  }
  return cudaSuccess;
}

void __trap() {
  using namespace emu::detail;
  if (!g.active || !g.cur) {
    report("trap", "__trap() outside a kernel");
    abort();
  }
  launch_error("trap", "%s executed __trap()", thread_str(*g.cur).c_str());
  g.cur->st = St::done;
  g_dirty_exit = true;
  finish_thread();
}
