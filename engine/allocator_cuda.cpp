#include <cuda_runtime.h>

#include "engine/allocator.h"
#include "engine/cuda_check.h"

namespace frcnn {

namespace {
class CudaBackend : public RawBackend {
 public:
  explicit CudaBackend(int index) : index_(index) {}
  void* allocate(size_t bytes) override {
    CUDA_CHECK(cudaSetDevice(index_));
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();  // clear it: the caller empties the cache and retries
      return nullptr;
    }
    CUDA_CHECK(e);
    return p;
  }
  void release(void* p) override {
    // cudaFree synchronises the device, so a freed block is never still in use.
    CUDA_CHECK(cudaFree(p));
  }
  Device device() const override { return Device::cuda(index_); }

 private:
  int index_;
};
}  // namespace

std::unique_ptr<RawBackend> make_cuda_backend_impl(int index) { return std::make_unique<CudaBackend>(index); }

}  // namespace frcnn
