// Stand-in for CUB in the emulated build: the device-wide algorithms the project calls
// (kernels/cuda_util.cuh wraps them), on the CPU, with CUB's contracts:
//   - the two-phase temporary-storage protocol (a null temp pointer asks for the size;
//     the second call checks the storage is device memory of at least that size);
//   - DeviceRadixSort is a stable LSD radix sort of the key bits [begin_bit, end_bit)
//     after CUB's "twiddling" of floats and signed integers, so -0.0 sorts below +0.0
//     and a NaN sorts by its bits (a positive NaN above +inf), exactly as on a GPU;
//   - DeviceSelect::Flagged keeps the input order.
// On a capturing stream a call (not a size query) is recorded and runs, checks included,
// at each launch of the graph (emu/graph.cpp).
// Every call is counted as one library call (emu::Counters).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <type_traits>
#include <vector>

#include "emu/launch.h"
#include "emu/runtime_api.h"

namespace emu::detail {
// Takes the device lock (released by cub_call_end); false: the call must fail.
bool cub_call_begin(const char* what, void* temp, size_t temp_bytes, size_t needed, cudaStream_t stream);
void cub_call_end();
bool cub_check_range(const char* what, const char* name, const void* p, size_t bytes);
}  // namespace emu::detail

namespace cub {
namespace emu_detail {

// The unsigned, order-preserving image of a key that CUB's radix passes sort.
template <class K>
inline auto twiddle(K k) {
  if constexpr (std::is_floating_point_v<K>) {
    using U = std::conditional_t<sizeof(K) == 4, uint32_t, uint64_t>;
    U u;
    std::memcpy(&u, &k, sizeof u);
    const U sign = U(1) << (sizeof(U) * 8 - 1);
    return (u & sign) ? U(~u) : U(u | sign);
  } else if constexpr (std::is_signed_v<K>) {
    using U = std::make_unsigned_t<K>;
    return U(U(k) ^ (U(1) << (sizeof(U) * 8 - 1)));
  } else {
    return k;
  }
}

template <class K>
inline auto key_bits(K k, int begin_bit, int end_bit) {
  auto u = twiddle(k);
  using U = decltype(u);
  const int width = end_bit - begin_bit;
  const U mask = width >= int(sizeof(U) * 8) ? U(~U(0)) : U((U(1) << width) - 1);
  return U((u >> begin_bit) & mask);
}

// RAII around one call: the device lock, the temp-storage check, the counter.
// run: the storage was given (not a size query); ok: its checks passed.
struct Call {
  bool run = false, ok = true;
  Call(const char* what, void* temp, size_t& bytes, size_t needed, cudaStream_t stream) {
    if (!temp) {
      bytes = needed;
      return;
    }
    run = true;
    ok = ::emu::detail::cub_call_begin(what, temp, bytes, needed, stream);
  }
  ~Call() {
    if (run) ::emu::detail::cub_call_end();
  }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;
};

template <class K, class V>
cudaError_t sort(const char* what, void* temp, size_t& bytes, const K* kin, K* kout, const V* vin, V* vout, int64_t n,
                 int bb, int eb, bool descending, cudaStream_t stream) {
  if (temp && ::emu::stream_capturing(stream)) {
    const size_t b = bytes;
    ::emu::capture_work(stream, what, [=](cudaStream_t s) {
      size_t bb2 = b;
      sort(what, temp, bb2, kin, kout, vin, vout, n, bb, eb, descending, s);
    });
    return cudaSuccess;
  }
  Call call(what, temp, bytes, size_t(std::max<int64_t>(n, 0)) * (sizeof(K) + sizeof(V)) + 256, stream);
  if (!call.run) return cudaSuccess;
  if (!call.ok) return cudaErrorInvalidValue;
  if (n <= 0) return cudaSuccess;
  using ::emu::detail::cub_check_range;
  const size_t nk = size_t(n) * sizeof(K), nv = size_t(n) * sizeof(V);
  if (!cub_check_range(what, "d_keys_in", kin, nk) || !cub_check_range(what, "d_keys_out", kout, nk) ||
      (vin && (!cub_check_range(what, "d_values_in", vin, nv) || !cub_check_range(what, "d_values_out", vout, nv))))
    return cudaErrorInvalidValue;
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), int64_t(0));
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
    const auto ka = key_bits(kin[a], bb, eb), kb = key_bits(kin[b], bb, eb);
    return descending ? ka > kb : ka < kb;
  });
  std::vector<K> ks(static_cast<size_t>(n));
  std::vector<V> vs(vin ? static_cast<size_t>(n) : 0);
  for (int64_t i = 0; i < n; ++i) {
    ks[i] = kin[idx[i]];
    if (vin) vs[i] = vin[idx[i]];
  }
  std::copy(ks.begin(), ks.end(), kout);
  if (vin) std::copy(vs.begin(), vs.end(), vout);
  return cudaSuccess;
}

}  // namespace emu_detail

struct DeviceRadixSort {
  template <class K, class V, class N>
  static cudaError_t SortPairs(void* temp, size_t& bytes, const K* kin, K* kout, const V* vin, V* vout, N n,
                               int begin_bit = 0, int end_bit = sizeof(K) * 8, cudaStream_t stream = nullptr) {
    return emu_detail::sort("cub::DeviceRadixSort::SortPairs", temp, bytes, kin, kout, vin, vout, int64_t(n), begin_bit,
                            end_bit, false, stream);
  }
  template <class K, class V, class N>
  static cudaError_t SortPairsDescending(void* temp, size_t& bytes, const K* kin, K* kout, const V* vin, V* vout, N n,
                                         int begin_bit = 0, int end_bit = sizeof(K) * 8,
                                         cudaStream_t stream = nullptr) {
    return emu_detail::sort("cub::DeviceRadixSort::SortPairsDescending", temp, bytes, kin, kout, vin, vout, int64_t(n),
                            begin_bit, end_bit, true, stream);
  }
  template <class K, class N>
  static cudaError_t SortKeys(void* temp, size_t& bytes, const K* kin, K* kout, N n, int begin_bit = 0,
                              int end_bit = sizeof(K) * 8, cudaStream_t stream = nullptr) {
    return emu_detail::sort<K, char>("cub::DeviceRadixSort::SortKeys", temp, bytes, kin, kout, nullptr, nullptr,
                                     int64_t(n), begin_bit, end_bit, false, stream);
  }
  template <class K, class N>
  static cudaError_t SortKeysDescending(void* temp, size_t& bytes, const K* kin, K* kout, N n, int begin_bit = 0,
                                        int end_bit = sizeof(K) * 8, cudaStream_t stream = nullptr) {
    return emu_detail::sort<K, char>("cub::DeviceRadixSort::SortKeysDescending", temp, bytes, kin, kout, nullptr,
                                     nullptr, int64_t(n), begin_bit, end_bit, true, stream);
  }
};

struct DeviceSelect {
  // out[j] = in[i] for the flagged i, in order; *num_selected = their count.
  template <class In, class Flags, class Out, class NumSelected, class N>
  static cudaError_t Flagged(void* temp, size_t& bytes, In in, Flags flags, Out out, NumSelected num_selected, N n,
                             cudaStream_t stream = nullptr) {
    const char* what = "cub::DeviceSelect::Flagged";
    if (temp && ::emu::stream_capturing(stream)) {
      const size_t b = bytes;
      ::emu::capture_work(stream, what, [=](cudaStream_t s) {
        size_t b2 = b;
        Flagged(temp, b2, in, flags, out, num_selected, n, s);
      });
      return cudaSuccess;
    }
    emu_detail::Call call(what, temp, bytes, 256, stream);
    if (!call.run) return cudaSuccess;
    if (!call.ok) return cudaErrorInvalidValue;
    using ::emu::detail::cub_check_range;
    const size_t count = size_t(std::max<int64_t>(int64_t(n), 0));
    if constexpr (std::is_pointer_v<In>) {
      if (!cub_check_range(what, "d_in", in, count * sizeof(*in))) return cudaErrorInvalidValue;
    }
    if (!cub_check_range(what, "d_flags", flags, count * sizeof(*flags)) ||
        !cub_check_range(what, "d_num_selected_out", num_selected, sizeof(*num_selected)))
      return cudaErrorInvalidValue;
    int64_t k = 0;
    for (int64_t i = 0; i < int64_t(n); ++i) k += flags[i] ? 1 : 0;
    if (!cub_check_range(what, "d_out", out, size_t(k) * sizeof(*out))) return cudaErrorInvalidValue;
    for (int64_t i = 0, j = 0; i < int64_t(n); ++i)
      if (flags[i]) out[j++] = in[i];
    *num_selected = static_cast<std::remove_reference_t<decltype(*num_selected)>>(k);
    return cudaSuccess;
  }
};

}  // namespace cub
