// Kernel launches and per-block shared memory of the CUDA emulation. The project's
// launch helper (engine/launch.cuh) calls emu::launch where nvcc would see
// kernel<<<grid, block, shmem, stream>>>(args...); engine/shared_memory.cuh maps
// FRCNN_SHARED / dynamic_shared<T>() onto static_shared / dynamic_shared below.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include "emu/runtime_api.h"

namespace emu {

// Where a launch comes from: the kernel's name as written at the launch, file:line.
struct LaunchSite {
  const char* kernel;
  const char* file;
  int line;
};

// Runs thunk(arg) once per CUDA thread of every block of the grid (emu/scheduler.cpp).
// `func` identifies the kernel (opt-in shared memory limits); errors are reported as
// device errors and leave cudaGetLastError() set, as a failed launch does.
// args_ok false: a pointer argument was refused; the launch then fails without running.
void run_grid(const LaunchSite& site, const void* func, dim3 grid, dim3 block, size_t shmem, cudaStream_t stream,
              bool args_ok, void (*thunk)(void*), void* arg);

// A kernel pointer argument that is neither device memory nor pinned host memory is
// reported and refused (a GPU faults on it): returns false.
bool check_kernel_pointer(const LaunchSite& site, size_t index, const void* p);

// Stream capture (emu/graph.cpp): a launch on a capturing stream is recorded with its
// parameters and run by each cudaGraphLaunch of the graph, on the launch's stream.
bool stream_capturing(cudaStream_t stream);
void capture_work(cudaStream_t stream, const char* what, std::function<void(cudaStream_t)> work);

template <class Tuple, size_t... I>
inline bool check_pointer_args(const LaunchSite& site, const Tuple& t, std::index_sequence<I...>) {
  bool ok = true;
  auto one = [&](const auto& v, size_t i) {
    using V = std::decay_t<decltype(v)>;
    if constexpr (std::is_pointer_v<V>) ok = check_kernel_pointer(site, i, static_cast<const void*>(v)) && ok;
  };
  (one(std::get<I>(t), I), ...);
  return ok;
}

template <class... P, class... A>
inline void launch(const LaunchSite& site, void (*kernel)(P...), dim3 grid, dim3 block, size_t shmem,
                   cudaStream_t stream, A&&... args) {
  static_assert(sizeof...(A) == sizeof...(P), "kernel launched with the wrong number of arguments");
  // The parameters, converted once as a launch converts them; every CUDA thread gets
  // its own copies when the kernel is called.
  using Params = std::tuple<std::decay_t<P>...>;
  struct Call {
    void (*kernel)(P...);
    Params* params;
  };
  // Checks the pointers (now: they may have been freed since a capture) and runs the grid.
  auto run = [kernel, grid, block, shmem](const LaunchSite& at, Params& params, cudaStream_t s) {
    const bool args_ok = check_pointer_args(at, params, std::index_sequence_for<P...>{});
    Call call{kernel, &params};
    run_grid(
        at, reinterpret_cast<const void*>(kernel), grid, block, shmem, s, args_ok,
        [](void* c) {
          auto* call = static_cast<Call*>(c);
          std::apply(call->kernel, *call->params);
        },
        &call);
  };
  if (stream_capturing(stream)) {
    auto params = std::make_shared<Params>(std::forward<A>(args)...);
    capture_work(stream, site.kernel, [site, params, run](cudaStream_t s) { run(site, *params, s); });
    return;
  }
  Params params(std::forward<A>(args)...);
  run(site, params, stream);
}

// Static shared memory of the running block: one object per (tag, block), `bytes` long,
// filled with the poison byte when the block starts using it.
void* static_shared_raw(const void* tag, size_t bytes, size_t align, const char* name, const char* file, int line);
// The launch's dynamic shared memory (poisoned, exactly the launch's size).
void* dynamic_shared_raw(const char* file, int line);

template <class T, size_t Align = 0>
inline T& static_shared(const void* tag, const char* name, const char* file, int line) {
  constexpr size_t a = Align > alignof(T) ? Align : alignof(T);
  return *static_cast<T*>(static_shared_raw(tag, sizeof(T), a, name, file, line));
}

}  // namespace emu
