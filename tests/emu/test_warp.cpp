// Warp functions of the emulated device: lockstep results (checked against what the
// CUDA programming guide specifies) and the misuses it must report.
#include "tests/emu/emu_test_util.h"

using namespace frcnn;
using namespace frcnn::emu_test;

namespace {

constexpr unsigned kFull = 0xFFFFFFFFu;

// Per thread t (lane l): 0 shfl broadcast of lane 5, 1 xor-butterfly sum, 2 shfl_up by 1
// in segments of 8, 3 shfl_down by 2 in segments of 8, 4 ballot of odd lanes, 5 any,
// 6 all, 7 reduce_add, 8 shfl_xor 16 in segments of 16 (lanes 0..15 would read a later
// segment: their own value; lanes 16..31 read lanes 0..15).
__global__ void emu_warp_ops_kernel(int* out) {
  const int t = threadIdx.x, l = t % 32;
  int* o = out + 9 * t;
  o[0] = __shfl_sync(kFull, l * 10, 5);
  int v = l;
  for (int m = 16; m > 0; m >>= 1) v += __shfl_xor_sync(kFull, v, m);
  o[1] = v;
  o[2] = __shfl_up_sync(kFull, l, 1, 8);
  o[3] = __shfl_down_sync(kFull, l, 2, 8);
  o[4] = int(__ballot_sync(kFull, l & 1));
  o[5] = __any_sync(kFull, l == 31);
  o[6] = __all_sync(kFull, l < 31);
  o[7] = int(__reduce_add_sync(kFull, unsigned(l)));
  o[8] = __shfl_xor_sync(kFull, l, 16, 16);
}

// A block of 48 threads: its second warp has 16 lanes; the full mask names lanes that do
// not exist, which (like exited lanes) the call does not wait for.
__global__ void emu_partial_warp_kernel(int* out) {
  const int l = threadIdx.x % 32;
  out[threadIdx.x] = int(__ballot_sync(kFull, 1)) + 0 * l;
  __syncwarp();
}

// Lanes 0..15 exchange among themselves only.
__global__ void emu_half_mask_kernel(int* out) {
  const int l = threadIdx.x % 32;
  const unsigned mask = l < 16 ? 0x0000FFFFu : 0xFFFF0000u;
  out[threadIdx.x] = __shfl_sync(mask, l, l < 16 ? 0 : 16);
}

// BUG (on purpose): lanes 0..15 read lane 20, which is not in their mask.
__global__ void emu_shfl_outside_mask_kernel(int* out) {
  const int l = threadIdx.x % 32;
  if (l < 16) out[l] = __shfl_sync(0x0000FFFFu, l, 20);
}

// BUG (on purpose): lane 0 waits at __syncthreads while its warp waits in a shuffle.
__global__ void emu_warp_deadlock_kernel(int* out) {
  if (threadIdx.x == 0) {
    __syncthreads();
    out[0] = 0;
  } else {
    out[threadIdx.x] = __shfl_sync(kFull, int(threadIdx.x), 0);
    __syncthreads();
  }
}

// BUG (on purpose): a lane calls a warp function with a mask that leaves it out.
__global__ void emu_own_lane_missing_kernel(int* out) { out[threadIdx.x] = int(__ballot_sync(0x1u, 1)); }

}  // namespace

TEST_CASE("emu warp: shuffles, votes and reductions give CUDA's results under every schedule", "[emu]") {
  ScheduleGuard guard;
  const int n = 64;
  DevBuf<int> out(9 * n);
  for (const auto& s : all_schedules()) {
    emu::set_schedule(s.order, s.seed);
    FRCNN_LAUNCH(emu_warp_ops_kernel, 1, n, 0, nullptr, out.get());
    auto r = out.download();
    INFO(s.name);
    for (int t = 0; t < n; ++t) {
      const int l = t % 32, seg8 = l / 8 * 8;
      const int* o = r.data() + 9 * t;
      REQUIRE(o[0] == 50);
      REQUIRE(o[1] == 496);  // 0 + 1 + ... + 31
      REQUIRE(o[2] == (l - seg8 >= 1 ? l - 1 : l));
      REQUIRE(o[3] == (l - seg8 + 2 < 8 ? l + 2 : l));
      REQUIRE(unsigned(o[4]) == 0xAAAAAAAAu);
      REQUIRE(o[5] == 1);
      REQUIRE(o[6] == 0);
      REQUIRE(o[7] == 496);
      REQUIRE(o[8] == (l < 16 ? l : l - 16));  // a later segment is out of reach: own value
    }
  }
}

TEST_CASE("emu warp: a partial warp and split masks complete without the missing lanes", "[emu]") {
  DevBuf<int> out(48);
  FRCNN_LAUNCH(emu_partial_warp_kernel, 1, 48, 0, nullptr, out.get());
  auto r = out.download();
  REQUIRE(unsigned(r[0]) == kFull);
  REQUIRE(unsigned(r[40]) == 0x0000FFFFu);
  DevBuf<int> h(32);
  FRCNN_LAUNCH(emu_half_mask_kernel, 1, 32, 0, nullptr, h.get());
  auto rh = h.download();
  REQUIRE(rh[3] == 0);
  REQUIRE(rh[20] == 16);
  REQUIRE(emu::take_errors() == 0);
}

TEST_CASE("emu warp: reading a lane outside the mask is an error", "[emu]") {
  DevBuf<int> out(32);
  EMU_REQUIRE_DEVICE_ERROR(FRCNN_LAUNCH(emu_shfl_outside_mask_kernel, 1, 32, 0, nullptr, out.get()));
}

TEST_CASE("emu warp: a lane at __syncthreads while its warp waits in a shuffle is a deadlock", "[emu]") {
  DevBuf<int> out(32);
  EMU_REQUIRE_DEVICE_ERROR(FRCNN_LAUNCH(emu_warp_deadlock_kernel, 1, 32, 0, nullptr, out.get()));
}

TEST_CASE("emu warp: a mask without the calling lane is an error", "[emu]") {
  DevBuf<int> out(32);
  EMU_REQUIRE_DEVICE_ERROR(FRCNN_LAUNCH(emu_own_lane_missing_kernel, 1, 32, 0, nullptr, out.get()));
}
