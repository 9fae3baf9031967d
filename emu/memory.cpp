// Device and pinned memory of the emulated GPU.
//
// Device memory is carved out of one reserved address range (the arena). Outside the
// device lock the arena is PROT_NONE, so a host dereference of a device pointer faults
// here as it does on a real GPU; the SIGSEGV handler below names it. Every allocation
// starts on a page (cudaMalloc guarantees 256-byte alignment); the slack after it, and
// the whole allocation once freed, are poisoned for AddressSanitizer, so an overrun of
// one byte and a use after free are reported. New allocations are filled with the
// poison byte (0xFF: a NaN as float, -1 as int), like the garbage a fresh cudaMalloc
// holds, so code that forgets to initialise device memory changes its results.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "emu/internal.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define EMU_POISON_REGION(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define EMU_UNPOISON_REGION(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define EMU_POISON_REGION(p, n) ((void)(p), (void)(n))
#define EMU_UNPOISON_REGION(p, n) ((void)(p), (void)(n))
#endif
#include <execinfo.h>

namespace emu::detail {

namespace {

constexpr size_t kArenaBytes = size_t(32) << 30;  // reserved address space, not memory

size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

struct Region {
  size_t bytes;   // what was asked for
  size_t length;  // pages
};

struct Arena {
  char* base = nullptr;
  size_t high = 0;                    // [base, base + high) has been handed out
  std::map<uintptr_t, size_t> free_;  // start -> length, coalesced
  std::map<uintptr_t, Region> live_;  // start -> region
  size_t in_use = 0;
  int access_depth = 0;  // DeviceScopes open
};

std::recursive_mutex& device_mutex() {
  static std::recursive_mutex m;
  return m;
}
std::mutex g_map_mu;  // guards the maps below (queried from any thread)
Arena* g_arena = nullptr;
std::map<uintptr_t, size_t> g_pinned;  // base -> bytes
struct sigaction g_prev_segv;

void segv_handler(int sig, siginfo_t* info, void* uctx);

// Our handler first, whoever else installed one since (a test framework does, per test):
// theirs becomes the one we pass other faults on to.
void ensure_segv_handler() {
  if (config().host_access) return;
  struct sigaction cur {};
  sigaction(SIGSEGV, nullptr, &cur);
  if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == segv_handler) return;
  struct sigaction sa {};
  sa.sa_sigaction = segv_handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &g_prev_segv);
}

Arena& arena() {
  if (!g_arena) {
    auto* a = new Arena();  // never destroyed: memory may be freed after main returns
    void* p = mmap(nullptr, kArenaBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      perror("[cuda-emu] reserving the device address range");
      abort();
    }
    a->base = static_cast<char*>(p);
    g_arena = a;
  }
  return *g_arena;
}

void set_access(Arena& a, bool on) {
  if (config().host_access || a.high == 0) return;
  if (!on) ensure_segv_handler();
  if (mprotect(a.base, a.high, on ? PROT_READ | PROT_WRITE : PROT_NONE) != 0) {
    perror("[cuda-emu] mprotect of device memory");
    abort();
  }
}

// The entry of an address-keyed map with the greatest start <= addr, or null.
template <class Map>
const typename Map::value_type* floor_entry(const Map& m, uintptr_t addr) {
  auto it = m.upper_bound(addr);
  return it == m.begin() ? nullptr : &*--it;
}

// The live device region containing addr (its pages, slack included), or null.
const std::pair<const uintptr_t, Region>* find_live(uintptr_t addr) {
  if (!g_arena) return nullptr;
  const auto* e = floor_entry(g_arena->live_, addr);
  return e && addr < e->first + e->second.length ? e : nullptr;
}

// Host code touched device memory: say so, with the allocation, then let the previous
// handler (AddressSanitizer's, or the default) report and end the process.
void segv_handler(int sig, siginfo_t* info, void* uctx) {
  const uintptr_t addr = reinterpret_cast<uintptr_t>(info->si_addr);
  Arena* a = g_arena;
  if (a && addr >= uintptr_t(a->base) && addr < uintptr_t(a->base) + kArenaBytes && a->access_depth == 0) {
    char msg[512];
    const auto* r = find_live(addr);  // no lock: the process is about to end
    int n;
    if (r)
      n = snprintf(msg, sizeof msg,
                   "[cuda-emu] host-access-to-device-memory: host code read or wrote device address %p, %zu bytes "
                   "into a %zu-byte cudaMalloc allocation at %p. On a GPU this faults or reads garbage: copy to the "
                   "host first (Tensor::to / cudaMemcpy). Stack:\n",
                   info->si_addr, size_t(addr - r->first), r->second.bytes, reinterpret_cast<void*>(r->first));
    else
      n = snprintf(msg, sizeof msg,
                   "[cuda-emu] host-access-to-device-memory: host code touched device address %p (no live "
                   "allocation: freed memory?). Stack:\n",
                   info->si_addr);
    if (n > 0) {
      ssize_t w = write(2, msg, size_t(n) < sizeof msg ? size_t(n) : sizeof msg - 1);
      (void)w;
    }
#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_print_stack_trace();
#else
    void* frames[64];
    backtrace_symbols_fd(frames, backtrace(frames, 64), 2);
#endif
    signal(SIGABRT, SIG_DFL);
    abort();
  }
  if (g_prev_segv.sa_flags & SA_SIGINFO) {
    if (g_prev_segv.sa_sigaction) return g_prev_segv.sa_sigaction(sig, info, uctx);
  }
  // Default or ignored: restore it and return; the faulting access repeats and ends the
  // process the usual way.
  sigaction(SIGSEGV, &g_prev_segv, nullptr);
}

}  // namespace

size_t page_size() {
  static const size_t p = size_t(sysconf(_SC_PAGESIZE));
  return p;
}

DeviceScope::DeviceScope() : lock_(device_mutex()) {
  std::lock_guard<std::mutex> l(g_map_mu);
  Arena& a = arena();
  if (a.access_depth++ == 0) set_access(a, true);
}

DeviceScope::~DeviceScope() {
  std::lock_guard<std::mutex> l(g_map_mu);
  Arena& a = arena();
  if (--a.access_depth == 0) set_access(a, false);
}

void poison_bytes(void* p, size_t bytes) {
  if (config().poison >= 0 && p && bytes) memset(p, config().poison, bytes);
}

void* device_alloc(size_t bytes) {
  DeviceScope scope;  // the new pages become accessible with the arena
  std::unique_lock<std::mutex> l(g_map_mu);
  Arena& a = arena();
  const size_t length = round_up(bytes ? bytes : 1, page_size());
  uintptr_t start = 0;
  for (auto it = a.free_.begin(); it != a.free_.end(); ++it) {
    if (it->second < length) continue;
    start = it->first;
    const size_t rest = it->second - length;
    a.free_.erase(it);
    if (rest) a.free_[start + length] = rest;
    break;
  }
  if (!start) {
    if (a.high + length > kArenaBytes) return nullptr;
    start = uintptr_t(a.base) + a.high;
    a.high += length;
    if (!config().host_access && mprotect(reinterpret_cast<void*>(start), length, PROT_READ | PROT_WRITE) != 0)
      return nullptr;
  }
  a.live_[start] = Region{bytes, length};
  a.in_use += bytes;
  l.unlock();
  char* p = reinterpret_cast<char*>(start);
  EMU_UNPOISON_REGION(p, bytes);
  EMU_POISON_REGION(p + bytes, length - bytes);
  poison_bytes(p, bytes);
  return p;
}

bool device_free(void* ptr) {
  DeviceScope scope;  // waits for a kernel running on another thread, as cudaFree waits for the device
  std::lock_guard<std::mutex> l(g_map_mu);
  Arena& a = arena();
  auto it = a.live_.find(reinterpret_cast<uintptr_t>(ptr));
  if (it == a.live_.end()) return false;
  uintptr_t start = it->first;
  size_t length = it->second.length;
  a.in_use -= it->second.bytes;
  a.live_.erase(it);
  // Give the pages back (they read as zeros when reused) and poison the range for ASan
  // (use after free).
  madvise(reinterpret_cast<void*>(start), length, MADV_DONTNEED);
  EMU_POISON_REGION(reinterpret_cast<void*>(start), length);
  auto next = a.free_.find(start + length);
  if (next != a.free_.end()) {
    length += next->second;
    a.free_.erase(next);
  }
  auto prev = a.free_.lower_bound(start);
  if (prev != a.free_.begin()) {
    --prev;
    if (prev->first + prev->second == start) {
      prev->second += length;
      return true;
    }
  }
  a.free_[start] = length;
  return true;
}

void* pinned_alloc(size_t bytes) {
  void* p = malloc(bytes ? bytes : 1);
  if (!p) return nullptr;
  std::lock_guard<std::mutex> l(g_map_mu);
  g_pinned[reinterpret_cast<uintptr_t>(p)] = bytes;
  return p;
}

bool pinned_free(void* p) {
  {
    std::lock_guard<std::mutex> l(g_map_mu);
    auto it = g_pinned.find(reinterpret_cast<uintptr_t>(p));
    if (it == g_pinned.end()) return false;
    g_pinned.erase(it);
  }
  free(p);
  return true;
}

bool is_device_range(const void* p, size_t bytes) {
  std::lock_guard<std::mutex> l(g_map_mu);
  const uintptr_t addr = reinterpret_cast<uintptr_t>(p);
  const auto* r = find_live(addr);
  return r && addr + bytes <= r->first + r->second.bytes;
}

bool is_pinned_range(const void* p, size_t bytes) {
  std::lock_guard<std::mutex> l(g_map_mu);
  const uintptr_t addr = reinterpret_cast<uintptr_t>(p);
  const auto* e = floor_entry(g_pinned, addr);
  return e && addr + bytes <= e->first + e->second;
}

bool is_device_or_pinned(const void* p) {
  // One past the end is a valid pointer to pass (an end bound), so compare with <=.
  std::lock_guard<std::mutex> l(g_map_mu);
  const uintptr_t addr = reinterpret_cast<uintptr_t>(p);
  const auto* d = g_arena ? floor_entry(g_arena->live_, addr) : nullptr;
  if (d && addr <= d->first + d->second.bytes) return true;
  const auto* h = floor_entry(g_pinned, addr);
  return h && addr <= h->first + h->second;
}

size_t device_bytes_in_use() {
  std::lock_guard<std::mutex> l(g_map_mu);
  return g_arena ? g_arena->in_use : 0;
}

size_t device_capacity() { return kArenaBytes; }

}  // namespace emu::detail
