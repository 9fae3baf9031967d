// The device side of the CUDA emulation: what a .cu file sees of the CUDA language when
// it is compiled as host C++ (qualifiers, built-in variables and vector types, the
// intrinsics and math functions our kernels use, atomics and warp functions).
// Included through emu/include/cuda_runtime.h; see emu/README.md for the model.
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <cstddef>
#include <type_traits>

#define FRCNN_CUDA_EMULATION_ACTIVE 1

// ---- qualifiers --------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __constant__ static
#define __restrict__ __restrict
// __shared__ is not defined on purpose: static shared memory is declared with
// FRCNN_SHARED (engine/shared_memory.cuh), which gives each block its own poisoned copy.

// ---- built-in vector types (alignment as in CUDA's vector_types.h) ------------------------
struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return {x, y, z}; }
};

#define EMU_VEC_TYPES(T, N, A1, A2, A4)                        \
  struct __attribute__((aligned(A1))) N##1 {                   \
    T x;                                                       \
  };                                                           \
  struct __attribute__((aligned(A2))) N##2 {                   \
    T x, y;                                                    \
  };                                                           \
  struct N##3 {                                                \
    T x, y, z;                                                 \
  };                                                           \
  struct __attribute__((aligned(A4))) N##4 {                   \
    T x, y, z, w;                                              \
  };                                                           \
  inline N##1 make_##N##1(T x) { return {x}; }                 \
  inline N##2 make_##N##2(T x, T y) { return {x, y}; }         \
  inline N##3 make_##N##3(T x, T y, T z) { return {x, y, z}; } \
  inline N##4 make_##N##4(T x, T y, T z, T w) { return {x, y, z, w}; }
EMU_VEC_TYPES(signed char, char, 1, 2, 4)
EMU_VEC_TYPES(unsigned char, uchar, 1, 2, 4)
EMU_VEC_TYPES(short, short, 2, 4, 8)
EMU_VEC_TYPES(unsigned short, ushort, 2, 4, 8)
EMU_VEC_TYPES(int, int, 4, 8, 16)
EMU_VEC_TYPES(float, float, 4, 8, 16)
EMU_VEC_TYPES(long long, longlong, 8, 16, 16)
EMU_VEC_TYPES(unsigned long long, ulonglong, 8, 16, 16)
EMU_VEC_TYPES(double, double, 8, 16, 16)
#undef EMU_VEC_TYPES
// uint3 is the type of threadIdx/blockIdx (declared above); the other unsigned vectors:
struct __attribute__((aligned(4))) uint1 {
  unsigned x;
};
struct __attribute__((aligned(8))) uint2 {
  unsigned x, y;
};
struct __attribute__((aligned(16))) uint4 {
  unsigned x, y, z, w;
};
inline uint1 make_uint1(unsigned x) { return {x}; }
inline uint2 make_uint2(unsigned x, unsigned y) { return {x, y}; }
inline uint3 make_uint3(unsigned x, unsigned y, unsigned z) { return {x, y, z}; }
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }

// ---- built-in variables ---------------------------------------------------------------------
// Set by the block scheduler (emu/scheduler.cpp) before it resumes a CUDA thread.
inline thread_local uint3 threadIdx{0, 0, 0};
inline thread_local uint3 blockIdx{0, 0, 0};
inline thread_local dim3 blockDim{1, 1, 1};
inline thread_local dim3 gridDim{1, 1, 1};
constexpr int warpSize = 32;

namespace emu {
// Diagnostics: every device-code error the emulation detects goes through here. The
// message is printed, the running launch (or API call) then fails with an error code.
void device_error(const char* kind, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
// Lane and warp of the running CUDA thread (linear thread index in its block / 32).
unsigned lane_id();
// Warp collectives: the calling lane deposits `bytes` of `value`, waits until every lane
// of `mask` has arrived at a warp collective, and gets the table of all lanes' values
// (slot i: lane i; lanes outside the mask are poison). Used by the __shfl / __ballot /
// __syncwarp family below and by the emulated twins of warp-wide PTX (mma, ldmatrix).
struct WarpTable {
  const unsigned char* data;  // 32 * bytes
  size_t bytes;
  unsigned mask;  // lanes that took part
  template <class T>
  T at(unsigned lane) const {
    T v;
    memcpy(&v, data + lane * bytes, sizeof(T));
    return v;
  }
};
WarpTable warp_collective(unsigned mask, const void* value, size_t bytes, const char* what, const char* file, int line);
unsigned live_lanes();  // lanes of the caller's warp that have not returned
// __syncthreads and its predicate forms: every live thread of the block waits here; the
// return value is the predicate's count over the block (see the macros below).
int block_barrier(int predicate, const char* what, const char* file, int line);
// cp.async, as the PTX ISA defines it for one thread: async_copy reads `src_bytes` of `src`
// now (the rest of `bytes` is zero fill) but writes them into shared memory only when a
// later async_wait retires the copy's group; async_commit closes the open group (possibly
// empty); async_wait(n) retires the oldest committed groups until at most n are pending.
// So a kernel that reads a stage before waiting for it reads stale or poisoned bytes, and
// its test fails, as it may on a GPU. Copies still pending when the thread returns vanish.
void async_copy(void* smem, const void* src, size_t bytes, size_t src_bytes, const char* file, int line);
void async_commit();
void async_wait(unsigned n);
}  // namespace emu

#define __syncthreads() ((void)::emu::block_barrier(0, "__syncthreads", __FILE__, __LINE__))
#define __syncthreads_count(p) ::emu::block_barrier((p) != 0, "__syncthreads_count", __FILE__, __LINE__)
#define __syncthreads_and(p) (::emu::block_barrier((p) == 0, "__syncthreads_and", __FILE__, __LINE__) == 0)
#define __syncthreads_or(p) (::emu::block_barrier((p) != 0, "__syncthreads_or", __FILE__, __LINE__) != 0)

// ---- CUDA's global min/max overload set (crt/math_functions.hpp), so that overload
// resolution, and its ambiguities, match nvcc's --------------------------------------------
#define EMU_HERE const char *file = __builtin_FILE(), int line = __builtin_LINE()
#define EMU_MINMAX(T)                              \
  inline T min(T a, T b) { return a < b ? a : b; } \
  inline T max(T a, T b) { return a > b ? a : b; }
EMU_MINMAX(int)
EMU_MINMAX(unsigned)
EMU_MINMAX(long)
EMU_MINMAX(unsigned long)
EMU_MINMAX(long long)
EMU_MINMAX(unsigned long long)
#undef EMU_MINMAX
inline unsigned min(int a, unsigned b) { return min(unsigned(a), b); }
inline unsigned min(unsigned a, int b) { return min(a, unsigned(b)); }
inline unsigned max(int a, unsigned b) { return max(unsigned(a), b); }
inline unsigned max(unsigned a, int b) { return max(a, unsigned(b)); }
inline unsigned long long min(long long a, unsigned long long b) { return min((unsigned long long)a, b); }
inline unsigned long long min(unsigned long long a, long long b) { return min(a, (unsigned long long)b); }
inline unsigned long long max(long long a, unsigned long long b) { return max((unsigned long long)a, b); }
inline unsigned long long max(unsigned long long a, long long b) { return max(a, (unsigned long long)b); }
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }
inline double min(float a, double b) { return fmin(a, b); }
inline double min(double a, float b) { return fmin(a, b); }
inline double max(float a, double b) { return fmax(a, b); }
inline double max(double a, float b) { return fmax(a, b); }

// ---- loads, rounding-mode arithmetic, fast maths ------------------------------------------
// The _rn forms are exactly IEEE round-to-nearest (the host's default mode). The fast
// forms (__expf, __logf, __fdividef, ...) are the accurate host functions here: on a GPU
// they are approximations (a few ulp), so results may differ by that much (docs/EMULATION.md).
template <class T>
inline T __ldg(const T* p) {
  return *p;
}
template <class T>
inline T __ldcs(const T* p) {
  return *p;
}
template <class T>
inline void __stcs(T* p, T v) {
  *p = v;
}
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline float __frcp_rn(float a) { return 1.f / a; }
inline float __fsqrt_rn(float a) { return sqrtf(a); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }
inline float __expf(float x) { return expf(x); }
inline float __exp10f(float x) { return exp10f(x); }
inline float __logf(float x) { return logf(x); }
inline float __log2f(float x) { return log2f(x); }
inline float __powf(float a, float b) { return powf(a, b); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanf(float x) { return tanf(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __saturatef(float x) { return x < 0.f ? 0.f : (x > 1.f ? 1.f : x); }
inline float rsqrtf(float x) { return 1.f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline int __float2int_rn(float x) { return int(nearbyintf(x)); }
inline int __float2int_rz(float x) { return int(truncf(x)); }
inline int __float2int_rd(float x) { return int(floorf(x)); }
inline int __float2int_ru(float x) { return int(ceilf(x)); }
inline float __int2float_rn(int x) { return float(x); }

// ---- bit reinterpretation and bit intrinsics ------------------------------------------------
namespace emu {
template <class To, class From>
inline To bit_cast(From v) {
  static_assert(sizeof(To) == sizeof(From), "bit_cast between types of different sizes");
  To t;
  memcpy(&t, &v, sizeof t);
  return t;
}
}  // namespace emu
inline int __float_as_int(float f) { return emu::bit_cast<int>(f); }
inline unsigned __float_as_uint(float f) { return emu::bit_cast<unsigned>(f); }
inline float __int_as_float(int i) { return emu::bit_cast<float>(i); }
inline float __uint_as_float(unsigned i) { return emu::bit_cast<float>(i); }
inline long long __double_as_longlong(double d) { return emu::bit_cast<long long>(d); }
inline double __longlong_as_double(long long i) { return emu::bit_cast<double>(i); }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x ? __builtin_clz(unsigned(x)) : 32; }
inline int __clzll(long long x) { return x ? __builtin_clzll((unsigned long long)x) : 64; }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned __brev(unsigned x) {
  x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
  x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
  x = ((x >> 4) & 0x0F0F0F0Fu) | ((x & 0x0F0F0F0Fu) << 4);
  x = ((x >> 8) & 0x00FF00FFu) | ((x & 0x00FF00FFu) << 8);
  return (x >> 16) | (x << 16);
}
inline unsigned long long __brevll(unsigned long long x) {
  return (static_cast<unsigned long long>(__brev(unsigned(x))) << 32) | __brev(unsigned(x >> 32));
}
// __byte_perm(x, y, s): byte i of the result is byte (s >> 4i) & 7 of the 8-byte value y:x.
inline unsigned __byte_perm(unsigned x, unsigned y, unsigned s) {
  const unsigned long long v = (static_cast<unsigned long long>(y) << 32) | x;
  unsigned r = 0;
  for (int i = 0; i < 4; ++i) r |= unsigned((v >> (8 * ((s >> (4 * i)) & 7))) & 0xFF) << (8 * i);
  return r;
}
inline unsigned __umulhi(unsigned a, unsigned b) { return unsigned((unsigned long long)a * b >> 32); }
inline int __mulhi(int a, int b) { return int((long long)a * b >> 32); }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}
inline int __mul24(int a, int b) { return int(int32_t(a << 8) >> 8) * int(int32_t(b << 8) >> 8); }
inline unsigned __umul24(unsigned a, unsigned b) { return (a & 0xFFFFFFu) * (b & 0xFFFFFFu); }

// ---- control, fences, clocks ----------------------------------------------------------------
// __trap(): the running launch fails (the GPU raises an unspecified launch failure).
void __trap();
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_system() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline long long clock64() { return (long long)__builtin_ia32_rdtsc(); }
inline void __nanosleep(unsigned) {}

// ---- atomics ----------------------------------------------------------------------------------
// Real host atomics, so that they stay right if blocks ever run on several host threads.
// Their order across CUDA threads is the emulated schedule's (FRCNN_EMU_SCHEDULE varies it).
#define EMU_ATOMIC_INT(T)                                                                               \
  inline T atomicAdd(T* p, T v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }                  \
  inline T atomicSub(T* p, T v) { return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED); }                  \
  inline T atomicAnd(T* p, T v) { return __atomic_fetch_and(p, v, __ATOMIC_RELAXED); }                  \
  inline T atomicOr(T* p, T v) { return __atomic_fetch_or(p, v, __ATOMIC_RELAXED); }                    \
  inline T atomicXor(T* p, T v) { return __atomic_fetch_xor(p, v, __ATOMIC_RELAXED); }                  \
  inline T atomicExch(T* p, T v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }                \
  inline T atomicCAS(T* p, T cmp, T v) {                                                                \
    __atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);                 \
    return cmp;                                                                                         \
  }                                                                                                     \
  inline T atomicMax(T* p, T v) {                                                                       \
    T o = __atomic_load_n(p, __ATOMIC_RELAXED);                                                         \
    while (o < v && !__atomic_compare_exchange_n(p, &o, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) { \
    }                                                                                                   \
    return o;                                                                                           \
  }                                                                                                     \
  inline T atomicMin(T* p, T v) {                                                                       \
    T o = __atomic_load_n(p, __ATOMIC_RELAXED);                                                         \
    while (o > v && !__atomic_compare_exchange_n(p, &o, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) { \
    }                                                                                                   \
    return o;                                                                                           \
  }
EMU_ATOMIC_INT(int)
EMU_ATOMIC_INT(unsigned)
EMU_ATOMIC_INT(unsigned long long)
#undef EMU_ATOMIC_INT
namespace emu {
template <class F>
inline F atomic_float_add(F* p, F v) {
  F o, n;
  __atomic_load(p, &o, __ATOMIC_RELAXED);
  do {
    n = o + v;
  } while (!__atomic_compare_exchange(p, &o, &n, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
  return o;
}
}  // namespace emu
inline float atomicAdd(float* p, float v) { return emu::atomic_float_add(p, v); }
inline double atomicAdd(double* p, double v) { return emu::atomic_float_add(p, v); }
inline float atomicExch(float* p, float v) {
  float o;
  __atomic_exchange(p, &v, &o, __ATOMIC_RELAXED);
  return o;
}
// ((old >= lim) ? 0 : old + 1) and (((old == 0) || (old > lim)) ? lim : old - 1), atomically
inline unsigned atomicInc(unsigned* p, unsigned lim) {
  unsigned o = __atomic_load_n(p, __ATOMIC_RELAXED);
  while (!__atomic_compare_exchange_n(p, &o, o >= lim ? 0u : o + 1, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return o;
}
inline unsigned atomicDec(unsigned* p, unsigned lim) {
  unsigned o = __atomic_load_n(p, __ATOMIC_RELAXED);
  while (!__atomic_compare_exchange_n(p, &o, (o == 0 || o > lim) ? lim : o - 1, true, __ATOMIC_RELAXED,
                                      __ATOMIC_RELAXED)) {
  }
  return o;
}

// ---- warp functions ---------------------------------------------------------------------------
// Lockstep semantics: a call returns once every lane named in `mask` has reached a warp
// function (the emulated block scheduler runs the other lanes meanwhile). A lane outside
// its own mask, a lane in the mask that has returned or waits at __syncthreads, and lanes
// of one mask at different shuffle call sites are reported as device errors.
inline void __syncwarp(unsigned mask = 0xFFFFFFFFu, EMU_HERE) {
  emu::warp_collective(mask, nullptr, 0, "__syncwarp", file, line);
}
inline unsigned __activemask() { return emu::live_lanes(); }
inline unsigned __ballot_sync(unsigned mask, int pred, EMU_HERE) {
  const int p = pred != 0;
  emu::WarpTable t = emu::warp_collective(mask, &p, sizeof p, "__ballot_sync", file, line);
  unsigned r = 0;
  for (unsigned l = 0; l < 32; ++l)
    if (((t.mask >> l) & 1u) && t.at<int>(l)) r |= 1u << l;
  return r;
}
inline int __any_sync(unsigned mask, int pred, EMU_HERE) { return __ballot_sync(mask, pred, file, line) != 0; }
inline int __all_sync(unsigned mask, int pred, EMU_HERE) {
  const int p = pred != 0;
  emu::WarpTable t = emu::warp_collective(mask, &p, sizeof p, "__all_sync", file, line);
  for (unsigned l = 0; l < 32; ++l)
    if (((t.mask >> l) & 1u) && !t.at<int>(l)) return 0;
  return 1;
}
inline unsigned __reduce_add_sync(unsigned mask, unsigned v, EMU_HERE) {
  emu::WarpTable t = emu::warp_collective(mask, &v, sizeof v, "__reduce_add_sync", file, line);
  unsigned r = 0;
  for (unsigned l = 0; l < 32; ++l)
    if ((t.mask >> l) & 1u) r += t.at<unsigned>(l);
  return r;
}
inline unsigned __reduce_max_sync(unsigned mask, unsigned v, EMU_HERE) {
  emu::WarpTable t = emu::warp_collective(mask, &v, sizeof v, "__reduce_max_sync", file, line);
  unsigned r = 0;
  for (unsigned l = 0; l < 32; ++l)
    if ((t.mask >> l) & 1u) r = max(r, t.at<unsigned>(l));
  return r;
}
inline unsigned __reduce_min_sync(unsigned mask, unsigned v, EMU_HERE) {
  emu::WarpTable t = emu::warp_collective(mask, &v, sizeof v, "__reduce_min_sync", file, line);
  unsigned r = 0xFFFFFFFFu;
  for (unsigned l = 0; l < 32; ++l)
    if ((t.mask >> l) & 1u) r = min(r, t.at<unsigned>(l));
  return r;
}

namespace emu {
// The shuffle family: every lane deposits var; lane L reads lane src(L) when that lane
// took part, else (undefined on a GPU) a device error is reported and var is returned.
template <class T, class SrcLane>
inline T shuffle(unsigned mask, T var, const char* what, const char* file, int line, SrcLane src_of) {
  static_assert(std::is_trivially_copyable<T>::value, "shuffled types must be trivially copyable");
  WarpTable t = warp_collective(mask, &var, sizeof(T), what, file, line);
  const unsigned self = lane_id(), src = src_of(self);
  if (src == self) return var;
  if (!((t.mask >> src) & 1u)) {
    device_error("warp-shuffle", "%s: lane %u reads lane %u, which is not in the mask 0x%08x", what, self, src, t.mask);
    return var;
  }
  return t.at<T>(src);
}
}  // namespace emu

// width: a power of two <= 32; lanes are grouped in segments of `width`.
template <class T>
inline T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize, EMU_HERE) {
  return emu::shuffle(mask, var, "__shfl_sync", file, line, [=](unsigned l) {
    return (l & ~unsigned(width - 1)) + (unsigned(src_lane) & unsigned(width - 1));
  });
}
template <class T>
inline T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize, EMU_HERE) {
  return emu::shuffle(mask, var, "__shfl_up_sync", file, line, [=](unsigned l) {
    const unsigned seg = l & ~unsigned(width - 1);
    return l - seg >= delta ? l - delta : l;
  });
}
template <class T>
inline T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize, EMU_HERE) {
  return emu::shuffle(mask, var, "__shfl_down_sync", file, line, [=](unsigned l) {
    const unsigned seg = l & ~unsigned(width - 1);
    return l - seg + delta < unsigned(width) ? l + delta : l;
  });
}
template <class T>
inline T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize, EMU_HERE) {
  return emu::shuffle(mask, var, "__shfl_xor_sync", file, line, [=](unsigned l) {
    const unsigned seg = l & ~unsigned(width - 1), d = l ^ unsigned(lane_mask);
    return (d & ~unsigned(width - 1)) > seg ? l : d;  // a later segment: own value (CUDA's rule)
  });
}
