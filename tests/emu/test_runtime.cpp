// The emulated CUDA runtime: device memory (poisoned, not host-accessible), copies and
// their checks, streams and events, counters, and the cuBLAS and CUB stand-ins.
#include <cublas_v2.h>

#include <cmath>
#include <cub/cub.cuh>
#include <cstring>

#include "engine/context.h"
#include "engine/tensor.h"
#include "kernels/nms.h"
#include "tests/emu/emu_test_util.h"

using namespace frcnn;
using namespace frcnn::emu_test;

namespace {

__global__ void emu_add_one_kernel(float* y, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) y[i] += 1.f;
}

}  // namespace

TEST_CASE("emu runtime: new device memory holds the poison byte", "[emu]") {
  DevBuf<uint32_t> d(16);
  for (uint32_t v : d.download()) REQUIRE(v == 0xFFFFFFFFu);
}

TEST_CASE("emu runtime: host code that dereferences a device pointer ends the process with a report", "[emu]") {
  DevBuf<float> d(8);
  bool signalled = false;
  const std::string err = run_in_child(
      [&] {
        volatile float v = d.get()[3];  // what a GPU would fault on
        (void)v;
      },
      signalled);
  INFO(err);
  REQUIRE(signalled);
  REQUIRE(err.find("host-access-to-device-memory") != std::string::npos);
  REQUIRE(err.find("12 bytes into a 32-byte cudaMalloc allocation") != std::string::npos);
}

TEST_CASE("emu runtime: copies are checked against the allocations and their direction", "[emu]") {
  DevBuf<float> d(4);
  std::vector<float> h(8, 1.f);
  REQUIRE(cudaMemcpy(d.get(), h.data(), 4 * sizeof(float), cudaMemcpyHostToDevice) == cudaSuccess);
  // past the end of the allocation
  REQUIRE(cudaMemcpy(d.get(), h.data(), 8 * sizeof(float), cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
  // wrong direction: the "device" side is host memory
  REQUIRE(cudaMemcpy(h.data(), d.get(), 4 * sizeof(float), cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
  REQUIRE(cudaMemset(h.data(), 0, 4) == cudaErrorInvalidValue);
  REQUIRE(cudaFree(h.data()) == cudaErrorInvalidValue);
  REQUIRE(emu::take_errors() == 4);
  (void)cudaGetLastError();
}

TEST_CASE("emu runtime: a kernel argument in pageable host memory is an error", "[emu]") {
  std::vector<float> h(4);
  EMU_REQUIRE_DEVICE_ERROR(FRCNN_LAUNCH(emu_add_one_kernel, 1, 32, 0, nullptr, h.data(), 4));
  float* pinned = nullptr;
  REQUIRE(cudaMallocHost(&pinned, 4 * sizeof(float)) == cudaSuccess);  // mapped: a kernel may use it
  std::fill(pinned, pinned + 4, 1.f);
  FRCNN_LAUNCH(emu_add_one_kernel, 1, 32, 0, nullptr, pinned, 4);
  REQUIRE(pinned[2] == 2.f);
  REQUIRE(cudaFreeHost(pinned) == cudaSuccess);
}

TEST_CASE("emu runtime: counters see launches, copies and host waits", "[emu]") {
  DevBuf<float> d(std::vector<float>(100, 0.f));
  cudaStream_t s;
  REQUIRE(cudaStreamCreate(&s) == cudaSuccess);
  float* pinned = nullptr;
  REQUIRE(cudaMallocHost(&pinned, 100 * sizeof(float)) == cudaSuccess);
  std::vector<float> pageable(100);
  emu::reset_counters();
  FRCNN_LAUNCH(emu_add_one_kernel, 2, 64, 0, s, d.get(), 100);
  REQUIRE(cudaMemcpyAsync(pinned, d.get(), 400, cudaMemcpyDeviceToHost, s) == cudaSuccess);  // no wait yet
  auto c = emu::counters();
  REQUIRE(c.launches == 1);
  REQUIRE(emu::launches_by_kernel().at("emu_add_one_kernel") == 1);
  REQUIRE(c.copies_d2h == 1);
  REQUIRE(c.host_waits == 0);
  REQUIRE(cudaStreamSynchronize(s) == cudaSuccess);
  REQUIRE(pinned[99] == 1.f);
  REQUIRE(cudaMemcpyAsync(pageable.data(), d.get(), 400, cudaMemcpyDeviceToHost, s) == cudaSuccess);  // pageable: waits
  c = emu::counters();
  REQUIRE(c.stream_syncs == 1);
  REQUIRE(c.host_waits == 2);
  REQUIRE(c.bytes_d2h == 800);
  REQUIRE(cudaFreeHost(pinned) == cudaSuccess);
  REQUIRE(cudaStreamDestroy(s) == cudaSuccess);
}

TEST_CASE("emu runtime: an operation's host round trips can be counted", "[emu]") {
  // nms on the device reads back exactly one number, the count of kept boxes.
  Context gpu(Device::cuda());
  Tensor boxes = Tensor::from_vector<float>({3, 4}, {0, 0, 10, 10, 1, 1, 10, 10, 20, 20, 30, 30}).to(gpu.device());
  Tensor scores = Tensor::from_vector<float>({3}, {0.9f, 0.8f, 0.7f}).to(gpu.device());
  emu::reset_counters();
  Tensor keep = nms(gpu, boxes, scores, 0.5f);
  const auto c = emu::counters();
  REQUIRE(c.copies_d2h == 1);
  REQUIRE(c.copies_h2d == 0);
  REQUIRE(keep.to(Device::cpu()).to_vector<int32_t>() == std::vector<int32_t>{0, 2});
}

TEST_CASE("emu runtime: streams and events are checked handles", "[emu]") {
  cudaStream_t s;
  REQUIRE(cudaStreamCreate(&s) == cudaSuccess);
  REQUIRE(cudaStreamDestroy(s) == cudaSuccess);
  REQUIRE(cudaStreamSynchronize(s) == cudaErrorInvalidResourceHandle);  // destroyed
  cudaEvent_t a, b, untimed;
  REQUIRE(cudaEventCreate(&a) == cudaSuccess);
  REQUIRE(cudaEventCreate(&b) == cudaSuccess);
  REQUIRE(cudaEventCreateWithFlags(&untimed, cudaEventDisableTiming) == cudaSuccess);
  float ms = -1.f;
  REQUIRE(cudaEventElapsedTime(&ms, a, b) == cudaErrorInvalidResourceHandle);  // never recorded
  REQUIRE(cudaEventRecord(a) == cudaSuccess);
  REQUIRE(cudaEventRecord(b) == cudaSuccess);
  REQUIRE(cudaEventRecord(untimed) == cudaSuccess);
  REQUIRE(cudaEventElapsedTime(&ms, a, b) == cudaSuccess);
  REQUIRE(ms >= 0.f);
  REQUIRE(cudaEventElapsedTime(&ms, a, untimed) == cudaErrorInvalidResourceHandle);
  for (cudaEvent_t e : {a, b, untimed}) REQUIRE(cudaEventDestroy(e) == cudaSuccess);
  REQUIRE(emu::take_errors() == 3);
  (void)cudaGetLastError();
}

TEST_CASE("emu runtime: cuBLAS sgemm is computed and its operands checked", "[emu]") {
  // column-major A (2x3), B (3x2): C = A B
  DevBuf<float> A(std::vector<float>{1, 4, 2, 5, 3, 6}), B(std::vector<float>{1, 0, 1, 0, 1, 1}), C(4);
  cublasHandle_t h;
  REQUIRE(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
  const float one = 1.f, zero = 0.f;
  REQUIRE(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 3, &one, A.get(), 2, B.get(), 3, &zero, C.get(), 2) ==
          CUBLAS_STATUS_SUCCESS);
  REQUIRE(C.download() == std::vector<float>{4, 10, 5, 11});
  // k = 4 reads past the end of A and B
  REQUIRE(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 4, &one, A.get(), 2, B.get(), 4, &zero, C.get(), 2) ==
          CUBLAS_STATUS_INVALID_VALUE);
  REQUIRE(emu::take_errors() == 1);
  REQUIRE(cublasDestroy(h) == CUBLAS_STATUS_SUCCESS);
}

TEST_CASE("emu runtime: the CUB radix sort orders -0, +0 and NaN by their bits, stably", "[emu]") {
  const float nan = std::nanf("");
  std::vector<float> keys = {1.f, -0.f, nan, 0.f, 1.f, -nan, -INFINITY, INFINITY};
  std::vector<int> vals = {0, 1, 2, 3, 4, 5, 6, 7};
  DevBuf<float> kin(keys), kout(keys.size());
  DevBuf<int> vin(vals), vout(vals.size());
  size_t bytes = 0;
  REQUIRE(cub::DeviceRadixSort::SortPairsDescending(nullptr, bytes, kin.get(), kout.get(), vin.get(), vout.get(),
                                                     int(keys.size())) == cudaSuccess);
  DevBuf<unsigned char> temp(bytes);
  REQUIRE(cub::DeviceRadixSort::SortPairsDescending(temp.get(), bytes, kin.get(), kout.get(), vin.get(), vout.get(),
                                                     int(keys.size())) == cudaSuccess);
  // +NaN above +inf, +0 above -0, the two 1s in input order, -NaN below -inf
  REQUIRE(vout.download() == std::vector<int>{2, 7, 0, 4, 3, 1, 6, 5});
  size_t small = bytes / 2;
  REQUIRE(cub::DeviceRadixSort::SortPairsDescending(temp.get(), small, kin.get(), kout.get(), vin.get(), vout.get(),
                                                     int(keys.size())) == cudaErrorInvalidValue);
  REQUIRE(emu::take_errors() == 1);
}
