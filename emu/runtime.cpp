// The CUDA runtime API of the emulation: one emulated device, memory, copies, streams
// and events. Work is synchronous: a kernel, copy or memset has finished when its call
// returns, whatever the stream (so missing synchronisation is not detected; see
// emu/README.md). Every misuse a GPU would refuse or fault on (a copy outside an
// allocation, a wrong direction, a destroyed stream) is a reported error.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>

#include "emu/internal.h"

struct CUstream_st {
  unsigned flags;
};
struct CUevent_st {
  unsigned flags;
  bool recorded;
  std::chrono::steady_clock::time_point time;
};

namespace emu::detail {

namespace {
std::mutex g_handles_mu;
std::set<const CUstream_st*> g_streams;
std::set<const CUevent_st*> g_events;

bool event_is_valid(cudaEvent_t e) {
  std::lock_guard<std::mutex> l(g_handles_mu);
  return e && g_events.count(e);
}

// cudaSuccess, or the report and error of a call on a handle that does not exist.
cudaError_t check_stream(cudaStream_t s, const char* api) {
  if (stream_is_valid(s)) return cudaSuccess;
  return fail(cudaErrorInvalidResourceHandle, "invalid-stream", "%s on stream %p, which does not exist", api,
              static_cast<void*>(s));
}
cudaError_t check_event(cudaEvent_t e, const char* api) {
  if (event_is_valid(e)) return cudaSuccess;
  return fail(cudaErrorInvalidResourceHandle, "invalid-event", "%s on event %p, which does not exist", api,
              static_cast<void*>(e));
}

const char* kind_name(cudaMemcpyKind k) {
  switch (k) {
    case cudaMemcpyHostToHost: return "HostToHost";
    case cudaMemcpyHostToDevice: return "HostToDevice";
    case cudaMemcpyDeviceToHost: return "DeviceToHost";
    case cudaMemcpyDeviceToDevice: return "DeviceToDevice";
    default: return "Default";
  }
}

const char* where(const void* p, size_t bytes) {
  if (is_device_range(p, bytes)) return "device memory";
  if (is_device_or_pinned(p))
    return is_pinned_range(p, bytes) ? "pinned host memory" : "not inside one device allocation";
  return "host memory";
}

// Checks a copy against where its pointers live and counts it. `sync`: the call waits
// for the copy (cudaMemcpy, or a device->host copy into pageable memory).
cudaError_t copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream, bool async,
                 const char* api) {
  if (cudaError_t e = check_stream(stream, api)) return e;
  if (bytes == 0) return cudaSuccess;
  if (!dst || !src) return fail(cudaErrorInvalidValue, "bad-copy", "%s of %zu bytes with a null pointer", api, bytes);
  if (!async) {
    if (cudaError_t e = check_capture_safe(api, stream, false)) return e;
  }
  const bool dst_dev = is_device_range(dst, bytes), src_dev = is_device_range(src, bytes);
  if (kind == cudaMemcpyDefault) {
    kind = dst_dev ? (src_dev ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                   : (src_dev ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  } else {
    const bool want_dst = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    const bool want_src = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if (want_dst != dst_dev || want_src != src_dev)
      return fail(cudaErrorInvalidValue, "bad-copy",
                  "%s(%p <- %p, %zu bytes, cudaMemcpy%s): the destination is %s, the source %s", api, dst, src, bytes,
                  kind_name(kind), where(dst, bytes), where(src, bytes));
  }
  if (capturing(stream)) {
    const bool pageable = (kind == cudaMemcpyDeviceToHost && !is_pinned_range(dst, bytes)) ||
                          (kind == cudaMemcpyHostToDevice && !is_pinned_range(src, bytes));
    if (pageable)
      return fail(cudaErrorStreamCaptureUnsupported, "capture",
                  "%s(%p <- %p, %zu bytes, cudaMemcpy%s) into a capture: the host side is pageable memory (a graph "
                  "copies to and from pinned memory only)",
                  api, dst, src, bytes, kind_name(kind));
    return capture(stream, api, [=](cudaStream_t s) { copy(dst, src, bytes, kind, s, true, api); });
  }
  if (cudaError_t e = check_enqueue(stream, api)) return e;
  {
    DeviceScope scope;
    memmove(dst, src, bytes);
  }
  switch (kind) {
    case cudaMemcpyHostToDevice:
      bump(&Counters::copies_h2d);
      bump(&Counters::bytes_h2d, int64_t(bytes));
      break;
    case cudaMemcpyDeviceToHost:
      bump(&Counters::copies_d2h);
      bump(&Counters::bytes_d2h, int64_t(bytes));
      if (async && !is_pinned_range(dst, bytes)) async = false;  // pageable: the call waits
      break;
    case cudaMemcpyDeviceToDevice:
      bump(&Counters::copies_d2d);
      bump(&Counters::bytes_d2d, int64_t(bytes));
      break;
    default: bump(&Counters::copies_h2h); break;
  }
  if (!async && kind != cudaMemcpyHostToHost) bump(&Counters::host_waits);
  return cudaSuccess;
}

cudaError_t memset_device(void* p, int value, size_t bytes, cudaStream_t stream, const char* api) {
  if (cudaError_t e = check_stream(stream, api)) return e;
  if (bytes == 0) return cudaSuccess;
  if (!is_device_range(p, bytes))
    return fail(cudaErrorInvalidValue, "bad-memset", "%s(%p, %zu bytes): not inside one device allocation", api, p,
                bytes);
  if (capturing(stream))
    return capture(stream, api, [=](cudaStream_t s) { memset_device(p, value, bytes, s, api); });
  if (cudaError_t e = check_enqueue(stream, api)) return e;
  {
    DeviceScope scope;
    memset(p, value, bytes);
  }
  bump(&Counters::memsets);
  return cudaSuccess;
}

cudaError_t check_device(int device) {
  if (device != 0)
    return fail(cudaErrorInvalidDevice, "invalid-device", "device %d requested; the emulation has one device, 0",
                device);
  return cudaSuccess;
}

thread_local int t_device = 0;

}  // namespace

bool stream_is_valid(cudaStream_t s) {
  if (s == nullptr || s == cudaStreamLegacy || s == cudaStreamPerThread) return true;
  std::lock_guard<std::mutex> l(g_handles_mu);
  return g_streams.count(s) != 0;
}

}  // namespace emu::detail

using namespace emu::detail;
using emu::Counters;

// ---- device -------------------------------------------------------------------------------

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  *device = t_device;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
  if (cudaError_t e = check_device(device)) return e;
  t_device = device;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
  if (cudaError_t e = check_device(device)) return e;
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "CUDA emulation on the CPU (sm_90 limits)");
  p->totalGlobalMem = device_capacity();
  p->sharedMemPerBlock = 48 * 1024;
  p->sharedMemPerBlockOptin = 227 * 1024;
  p->sharedMemPerMultiprocessor = 228 * 1024;
  p->regsPerBlock = 65536;
  p->warpSize = 32;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsDim[0] = p->maxThreadsDim[1] = 1024;
  p->maxThreadsDim[2] = 64;
  p->maxGridSize[0] = 2147483647;
  p->maxGridSize[1] = p->maxGridSize[2] = 65535;
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = config().sm_count;
  p->maxThreadsPerMultiProcessor = 2048;
  p->l2CacheSize = 50 * 1024 * 1024;
  return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  cudaDeviceProp p;
  if (cudaError_t e = cudaGetDeviceProperties(&p, device)) return e;
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = p.maxThreadsPerBlock; break;
    case cudaDevAttrMaxBlockDimX: *value = p.maxThreadsDim[0]; break;
    case cudaDevAttrMaxGridDimX: *value = p.maxGridSize[0]; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = int(p.sharedMemPerBlock); break;
    case cudaDevAttrWarpSize: *value = p.warpSize; break;
    case cudaDevAttrMultiProcessorCount: *value = p.multiProcessorCount; break;
    case cudaDevAttrComputeCapabilityMajor: *value = p.major; break;
    case cudaDevAttrComputeCapabilityMinor: *value = p.minor; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = int(p.sharedMemPerBlockOptin); break;
    default: return fail(cudaErrorInvalidValue, "unsupported", "cudaDeviceGetAttribute(%d) is not emulated", int(attr));
  }
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() {
  if (cudaError_t e = check_capture_safe("cudaDeviceSynchronize", nullptr, true)) return e;
  bump(&Counters::device_syncs);
  bump(&Counters::host_waits);
  return cudaSuccess;
}
cudaError_t cudaDeviceReset() { return cudaSuccess; }
cudaError_t cudaRuntimeGetVersion(int* version) {
  *version = 13000;  // the runtime API level emulated
  return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int* version) {
  *version = 0;  // no driver
  return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  *total_bytes = device_capacity();
  *free_bytes = device_capacity() - device_bytes_in_use();
  return cudaSuccess;
}

// ---- errors -----------------------------------------------------------------------------------

cudaError_t cudaGetLastError() { return take_last_error(); }
cudaError_t cudaPeekAtLastError() { return peek_last_error(); }
const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError: return "cudaErrorInitializationError";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInvalidDeviceFunction: return "cudaErrorInvalidDeviceFunction";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    default: return "cudaErrorUnknown";
  }
}
const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorLaunchFailure: return "unspecified launch failure (the emulation printed why: [cuda-emu] above)";
    default: return "see the [cuda-emu] report above";
  }
}

// ---- memory -----------------------------------------------------------------------------------

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  void* p = device_alloc(bytes);
  if (!p) {
    *ptr = nullptr;
    set_last_error(cudaErrorMemoryAllocation);
    return cudaErrorMemoryAllocation;
  }
  bump(&Counters::device_allocs);
  bump(&Counters::device_bytes_allocated, int64_t(bytes));
  *ptr = p;
  return cudaSuccess;
}
cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  if (cudaError_t e = check_capture_safe("cudaFree", nullptr, true)) return e;
  if (!device_free(ptr))
    return fail(cudaErrorInvalidValue, "bad-free", "cudaFree(%p): not the start of a live cudaMalloc allocation", ptr);
  bump(&Counters::device_frees);
  return cudaSuccess;
}
cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned) {
  void* p = pinned_alloc(bytes);
  if (!p) {
    set_last_error(cudaErrorMemoryAllocation);
    return cudaErrorMemoryAllocation;
  }
  bump(&Counters::host_allocs);
  *ptr = p;
  return cudaSuccess;
}
cudaError_t cudaMallocHost(void** ptr, size_t bytes) { return cudaHostAlloc(ptr, bytes, cudaHostAllocDefault); }
cudaError_t cudaFreeHost(void* ptr) {
  if (!ptr) return cudaSuccess;
  if (!pinned_free(ptr))
    return fail(cudaErrorInvalidValue, "bad-free", "cudaFreeHost(%p): not a live cudaHostAlloc allocation", ptr);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  return copy(dst, src, bytes, kind, nullptr, false, "cudaMemcpy");
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  return copy(dst, src, bytes, kind, stream, true, "cudaMemcpyAsync");
}
cudaError_t cudaMemset(void* p, int value, size_t bytes) {
  if (cudaError_t e = check_capture_safe("cudaMemset", nullptr, false)) return e;
  const cudaError_t e = memset_device(p, value, bytes, nullptr, "cudaMemset");
  if (e == cudaSuccess && bytes) bump(&Counters::host_waits);
  return e;
}
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t stream) {
  return memset_device(p, value, bytes, stream, "cudaMemsetAsync");
}

// ---- streams and events -----------------------------------------------------------------------

cudaError_t cudaStreamCreate(cudaStream_t* s) { return cudaStreamCreateWithFlags(s, cudaStreamDefault); }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags) {
  *s = new CUstream_st{flags};
  std::lock_guard<std::mutex> l(g_handles_mu);
  g_streams.insert(*s);
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
  bool ok;
  {
    std::lock_guard<std::mutex> l(g_handles_mu);
    ok = s && g_streams.erase(s);
  }
  if (!ok)
    return fail(cudaErrorInvalidResourceHandle, "invalid-stream", "cudaStreamDestroy(%p): not a live stream",
                static_cast<void*>(s));
  delete s;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) {
  if (cudaError_t e = check_stream(s, "cudaStreamSynchronize")) return e;
  if (cudaError_t e = check_capture_safe("cudaStreamSynchronize", s, false)) return e;
  bump(&Counters::stream_syncs);
  bump(&Counters::host_waits);
  return cudaSuccess;
}
cudaError_t cudaStreamQuery(cudaStream_t s) {
  if (cudaError_t e = check_stream(s, "cudaStreamQuery")) return e;
  return check_capture_safe("cudaStreamQuery", s, false);
}
cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned) {
  if (cudaError_t r = check_stream(s, "cudaStreamWaitEvent")) return r;
  return check_event(e, "cudaStreamWaitEvent");
}

cudaError_t cudaEventCreate(cudaEvent_t* e) { return cudaEventCreateWithFlags(e, cudaEventDefault); }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned flags) {
  *e = new CUevent_st{flags, false, {}};
  std::lock_guard<std::mutex> l(g_handles_mu);
  g_events.insert(*e);
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
  bool ok;
  {
    std::lock_guard<std::mutex> l(g_handles_mu);
    ok = e && g_events.erase(e);
  }
  if (!ok)
    return fail(cudaErrorInvalidResourceHandle, "invalid-event", "cudaEventDestroy(%p): not a live event",
                static_cast<void*>(e));
  delete e;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) {
  if (cudaError_t r = check_event(e, "cudaEventRecord")) return r;
  if (cudaError_t r = check_stream(s, "cudaEventRecord")) return r;
  if (capturing(s))  // a node that records the event when the graph runs
    return capture(s, "cudaEventRecord", [e](cudaStream_t) {
      e->recorded = true;
      e->time = std::chrono::steady_clock::now();
    });
  if (cudaError_t r = check_enqueue(s, "cudaEventRecord")) return r;
  e->recorded = true;
  e->time = std::chrono::steady_clock::now();
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t e) {
  if (cudaError_t r = check_event(e, "cudaEventSynchronize")) return r;
  bump(&Counters::event_syncs);
  bump(&Counters::host_waits);
  return cudaSuccess;
}
cudaError_t cudaEventQuery(cudaEvent_t e) { return check_event(e, "cudaEventQuery"); }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b) {
  if (cudaError_t r = check_event(a, "cudaEventElapsedTime")) return r;
  if (cudaError_t r = check_event(b, "cudaEventElapsedTime")) return r;
  if ((a->flags | b->flags) & cudaEventDisableTiming)
    return fail(cudaErrorInvalidResourceHandle, "invalid-event",
                "cudaEventElapsedTime on an event created with cudaEventDisableTiming");
  if (!a->recorded || !b->recorded)
    return fail(cudaErrorInvalidResourceHandle, "invalid-event", "cudaEventElapsedTime on an event never recorded");
  *ms = std::chrono::duration<float, std::milli>(b->time - a->time).count();
  return cudaSuccess;
}
