// CUDA side of data/pinned.h: page-locked allocations, events and the async upload.
#include <cuda_runtime.h>

#include "engine/cuda_check.h"

namespace frcnn {

void* pinned_alloc_cuda(size_t bytes) {
  void* p = nullptr;
  CUDA_CHECK(cudaHostAlloc(&p, bytes, cudaHostAllocPortable));
  return p;
}

void pinned_free_cuda(void* p) { CUDA_CHECK(cudaFreeHost(p)); }

void* pinned_event_create_cuda() {
  cudaEvent_t ev = nullptr;
  CUDA_CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
  return ev;
}

void pinned_event_destroy_cuda(void* ev) {
  if (ev) CUDA_CHECK(cudaEventDestroy(static_cast<cudaEvent_t>(ev)));
}

void pinned_event_sync_cuda(void* ev) { CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(ev))); }

void pinned_upload_cuda(void* dst, const void* src, size_t bytes, void* ev, Stream stream) {
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, cuda_stream(stream)));
  CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(ev), cuda_stream(stream)));
}

}  // namespace frcnn
