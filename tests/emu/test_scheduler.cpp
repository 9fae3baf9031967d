// The emulated device's block scheduler: barriers, schedules, shared memory, launch
// limits, and the device-code bugs it must report (emu/README.md).
#include <cmath>
#include <numeric>

#include "tests/emu/emu_test_util.h"

using namespace frcnn;
using namespace frcnn::emu_test;

namespace {

constexpr int kT = 128;

// out[block] = sum of x over the block's grid-stride share; a barrier after every level.
__global__ void emu_block_sum_kernel(const float* x, int n, float* out) {
  FRCNN_SHARED(float, s, [kT]);
  float v = 0.f;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) v += x[i];
  s[threadIdx.x] = v;
  __syncthreads();
  for (unsigned st = blockDim.x / 2; st > 0; st >>= 1) {
    if (threadIdx.x < st) s[threadIdx.x] += s[threadIdx.x + st];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = s[0];
}

// BUG (on purpose): no barrier between the levels of the tree.
__global__ void emu_racy_sum_kernel(const float* x, float* out) {
  FRCNN_SHARED(float, s, [kT]);
  s[threadIdx.x] = x[blockIdx.x * blockDim.x + threadIdx.x];
  __syncthreads();
  for (unsigned st = blockDim.x / 2; st > 0; st >>= 1)
    if (threadIdx.x < st) s[threadIdx.x] += s[threadIdx.x + st];
  if (threadIdx.x == 0) out[blockIdx.x] = s[0];
}

// BUG (on purpose): reads shared memory that only half the threads wrote.
__global__ void emu_half_written_kernel(float* y) {
  FRCNN_SHARED(float, s, [64]);
  if (threadIdx.x < 32) s[threadIdx.x] = 1.f;
  __syncthreads();
  y[threadIdx.x] = s[threadIdx.x];
}

// Block 1 reads what block 0 wrote to "its" shared memory: a GPU gives block 1 its own.
__global__ void emu_block_private_kernel(float* y) {
  FRCNN_SHARED(float, s, [1]);
  if (blockIdx.x == 0) s[0] = 42.f;
  __syncthreads();
  y[blockIdx.x] = s[0];
}

// BUG (on purpose): threads past n return before the barrier the others wait at.
__global__ void emu_early_exit_kernel(float* y, int n) {
  FRCNN_SHARED(float, s, [64]);
  const int i = threadIdx.x;
  if (i >= n) return;
  s[i] = float(i);
  __syncthreads();
  y[i] = s[(i + 1) % n];
}

// BUG (on purpose): two halves of the block wait at different barriers.
__global__ void emu_divergent_barrier_kernel(float* y) {
  if (threadIdx.x < 16) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  y[threadIdx.x] = 1.f;
}

__global__ void emu_barrier_predicates_kernel(int* out) {
  const int t = threadIdx.x;
  const int count = __syncthreads_count(t % 3 == 0);
  const int all = __syncthreads_and(t < 1000);
  const int none = __syncthreads_and(t != 5);
  const int any = __syncthreads_or(t == 7);
  const int nothing = __syncthreads_or(t > 1000);
  if (t == 0) {
    out[0] = count;
    out[1] = all;
    out[2] = none;
    out[3] = any;
    out[4] = nothing;
  }
}

__global__ void emu_index_kernel(int* out) {
  const int block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const int thread = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const int per_block = blockDim.x * blockDim.y * blockDim.z;
  out[block * per_block + thread] = block * 1000 + thread;
}

__global__ void emu_dynamic_shared_kernel(float* y, int n) {
  float* d = dynamic_shared<float>();
  if (int(threadIdx.x) < n / 2) d[threadIdx.x] = 2.f;
  __syncthreads();
  y[threadIdx.x] = d[threadIdx.x];
}

__global__ void emu_big_static_shared_kernel(float* y) {
  FRCNN_SHARED(float, big, [13 * 1024]);  // 52 KiB: more than a block may have
  big[threadIdx.x] = 1.f;
  y[threadIdx.x] = big[threadIdx.x];
}

__global__ void emu_trap_kernel(float* y) {
  if (threadIdx.x == 3) __trap();
  y[threadIdx.x] = 1.f;
}

std::vector<float> iota_floats(int n) {
  std::vector<float> h(n);
  for (int i = 0; i < n; ++i) h[i] = float(i % 13);
  return h;
}

}  // namespace

TEST_CASE("emu scheduler: a barrier-synchronised block reduction is exact under every schedule", "[emu]") {
  ScheduleGuard guard;
  const int n = 1000, blocks = 3;
  std::vector<float> h = iota_floats(n);
  DevBuf<float> x(h), out(blocks);
  for (const auto& s : all_schedules()) {
    emu::set_schedule(s.order, s.seed);
    FRCNN_LAUNCH(emu_block_sum_kernel, blocks, kT, 0, nullptr, x.get(), n, out.get());
    auto r = out.download();
    INFO(s.name);
    REQUIRE(std::accumulate(r.begin(), r.end(), 0.f) == std::accumulate(h.begin(), h.end(), 0.f));
  }
}

TEST_CASE("emu scheduler: a missing barrier makes the result depend on the schedule", "[emu]") {
  ScheduleGuard guard;
  std::vector<float> h = iota_floats(kT);
  const float exact = std::accumulate(h.begin(), h.end(), 0.f);
  DevBuf<float> x(h), out(1);
  int wrong = 0;
  for (const auto& s : all_schedules()) {
    emu::set_schedule(s.order, s.seed);
    FRCNN_LAUNCH(emu_racy_sum_kernel, 1, kT, 0, nullptr, x.get(), out.get());
    wrong += out.download()[0] != exact;
  }
  REQUIRE(wrong > 0);  // the forward order runs thread 0's whole tree before the others
}

TEST_CASE("emu scheduler: shared memory starts as poison in every block", "[emu]") {
  ScheduleGuard guard;
  DevBuf<float> y(64);
  FRCNN_LAUNCH(emu_half_written_kernel, 1, 64, 0, nullptr, y.get());
  auto r = y.download();
  REQUIRE(r[0] == 1.f);
  REQUIRE(std::isnan(r[40]));  // 0xFFFFFFFF: a NaN
  emu::set_poison(0);
  FRCNN_LAUNCH(emu_half_written_kernel, 1, 64, 0, nullptr, y.get());
  REQUIRE(y.download()[40] == 0.f);

  DevBuf<float> b(2);
  emu::set_poison(0xFF);
  FRCNN_LAUNCH(emu_block_private_kernel, 2, 32, 0, nullptr, b.get());
  auto rb = b.download();
  REQUIRE(rb[0] == 42.f);
  REQUIRE(std::isnan(rb[1]));  // block 1 never sees block 0's shared memory
}

TEST_CASE("emu scheduler: dynamic shared memory is the launch's size and starts as poison", "[emu]") {
  DevBuf<float> y(64);
  FRCNN_LAUNCH(emu_dynamic_shared_kernel, 1, 64, 64 * sizeof(float), nullptr, y.get(), 64);
  auto r = y.download();
  REQUIRE(r[0] == 2.f);
  REQUIRE(std::isnan(r[63]));
  // No dynamic shared memory at all: reported, and the launch fails.
  EMU_REQUIRE_DEVICE_ERROR(FRCNN_LAUNCH(emu_dynamic_shared_kernel, 1, 1, 0, nullptr, y.get(), 0));
}

TEST_CASE("emu scheduler: a thread that returns while others wait at a barrier is an error", "[emu]") {
  DevBuf<float> y(64);
  EMU_REQUIRE_DEVICE_ERROR(FRCNN_LAUNCH(emu_early_exit_kernel, 1, 64, 0, nullptr, y.get(), 40));
  FRCNN_LAUNCH(emu_early_exit_kernel, 1, 64, 0, nullptr, y.get(), 64);  // every thread reaches it: fine
  REQUIRE(emu::take_errors() == 0);
}

TEST_CASE("emu scheduler: threads waiting at different barriers are an error", "[emu]") {
  DevBuf<float> y(32);
  EMU_REQUIRE_DEVICE_ERROR(FRCNN_LAUNCH(emu_divergent_barrier_kernel, 1, 32, 0, nullptr, y.get()));
}

TEST_CASE("emu scheduler: __syncthreads_count and, or reduce over the block", "[emu]") {
  DevBuf<int> out(5);
  FRCNN_LAUNCH(emu_barrier_predicates_kernel, 1, 100, 0, nullptr, out.get());
  auto r = out.download();
  REQUIRE(r[0] == 34);  // 0, 3, ..., 99
  REQUIRE(r[1] == 1);
  REQUIRE(r[2] == 0);
  REQUIRE(r[3] == 1);
  REQUIRE(r[4] == 0);
}

TEST_CASE("emu scheduler: 3-D grids and blocks give every thread its own indices", "[emu]") {
  ScheduleGuard guard;
  const dim3 grid(2, 3, 2), block(4, 2, 3);
  const int per_block = 24, total = 12 * per_block;
  DevBuf<int> out(total);
  for (const auto& s : all_schedules()) {
    emu::set_schedule(s.order, s.seed);
    FRCNN_LAUNCH(emu_index_kernel, grid, block, 0, nullptr, out.get());
    auto r = out.download();
    for (int i = 0; i < total; ++i) REQUIRE(r[i] == (i / per_block) * 1000 + i % per_block);
  }
}

TEST_CASE("emu scheduler: launches outside the GPU's limits fail as on a GPU", "[emu]") {
  DevBuf<float> y(2048);
  EMU_REQUIRE_DEVICE_ERROR(FRCNN_LAUNCH(emu_half_written_kernel, 1, 2048, 0, nullptr, y.get()));  // > 1024 threads
  EMU_REQUIRE_DEVICE_ERROR(FRCNN_LAUNCH(emu_half_written_kernel, 0, 64, 0, nullptr, y.get()));    // empty grid
  EMU_REQUIRE_DEVICE_ERROR(FRCNN_LAUNCH(emu_half_written_kernel, dim3(1, 70000), 64, 0, nullptr, y.get()));
  EMU_REQUIRE_DEVICE_ERROR(FRCNN_LAUNCH(emu_big_static_shared_kernel, 1, 64, 0, nullptr, y.get()));
  // dynamic shared memory above 48 KiB needs the kernel's opt-in
  EMU_REQUIRE_DEVICE_ERROR(FRCNN_LAUNCH(emu_dynamic_shared_kernel, 1, 64, 64 * 1024, nullptr, y.get(), 64));
  REQUIRE(cudaFuncSetAttribute(emu_dynamic_shared_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024) ==
          cudaSuccess);
  FRCNN_LAUNCH(emu_dynamic_shared_kernel, 1, 64, 64 * 1024, nullptr, y.get(), 64);
  REQUIRE(emu::take_errors() == 0);
}

TEST_CASE("emu scheduler: __trap fails the launch", "[emu]") {
  DevBuf<float> y(32);
  EMU_REQUIRE_DEVICE_ERROR(FRCNN_LAUNCH(emu_trap_kernel, 1, 32, 0, nullptr, y.get()));
  FRCNN_LAUNCH(emu_block_private_kernel, 1, 32, 0, nullptr, y.get());  // the device still works
}
