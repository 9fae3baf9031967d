// cp.async on the emulated device (kernels/ptx.cuh's twins on emu::async_copy): a copy
// lands in shared memory only when a wait retires its commit group, so a pipeline that
// reads a stage too early reads the poison byte, as it might read stale data on a GPU.
#include <cmath>

#include "kernels/ptx.cuh"
#include "tests/emu/emu_test_util.h"

using namespace frcnn;
using namespace frcnn::emu_test;

namespace {

// One warp. Each lane copies 16 bytes (four floats) of src into stage 0 and 4 bytes into
// stage 1, commits them as two groups, and records what it reads of its own slots:
//   out[lane][0]  stage 0 before any wait          (poison: nothing landed yet)
//   out[lane][1]  stage 0 after wait<1>            (group 0 retired)
//   out[lane][2]  stage 1 after wait<1>            (group 1 still pending: poison)
//   out[lane][3]  stage 1 after wait<0>            (landed)
//   out[lane][4]  a zero-filled 4-byte copy after wait<0> of an empty-then-real group pair
__global__ void emu_cp_async_kernel(const float* src, float* out) {
  FRCNN_SHARED_ALIGNED(16, float, stage0, [32 * 4]);
  FRCNN_SHARED_ALIGNED(16, float, stage1, [32]);
  FRCNN_SHARED_ALIGNED(16, float, zeros, [32]);
  const int l = int(threadIdx.x);
  float* o = out + 5 * l;
  ptx::cp_async_16(stage0 + 4 * l, src + 4 * l);
  ptx::cp_async_commit();
  ptx::cp_async_4_zfill(stage1 + l, src + 128 + l, true);
  ptx::cp_async_commit();
  o[0] = stage0[4 * l + 1];
  ptx::cp_async_wait<1>();
  o[1] = stage0[4 * l + 1];
  o[2] = stage1[l];
  ptx::cp_async_wait<0>();
  o[3] = stage1[l];
  ptx::cp_async_commit();  // an empty group
  ptx::cp_async_4_zfill(zeros + l, src, false);
  ptx::cp_async_commit();
  ptx::cp_async_wait<0>();
  o[4] = zeros[l];
}

// A copy left uncommitted is not waited for: wait<0> retires only committed groups.
__global__ void emu_cp_async_uncommitted_kernel(const float* src, float* out) {
  FRCNN_SHARED_ALIGNED(16, float, s, [4]);
  if (threadIdx.x != 0) return;
  ptx::cp_async_16_zfill(s, src, true);
  ptx::cp_async_wait<0>();
  out[0] = s[0];
  ptx::cp_async_commit();
  ptx::cp_async_wait<0>();
  out[1] = s[0];
}

}  // namespace

TEST_CASE("emu cp.async: a copy lands at the wait that retires its group, zero fill, empty groups") {
  std::vector<float> h(160);
  for (size_t i = 0; i < h.size(); ++i) h[i] = float(i) + 0.5f;
  DevBuf<float> src(h), out(32 * 5);
  FRCNN_LAUNCH(emu_cp_async_kernel, 1, 32, 0, nullptr, src.get(), out.get());
  const auto o = out.download();
  for (int l = 0; l < 32; ++l) {
    INFO("lane " << l);
    CHECK(std::isnan(o[5 * l + 0]));
    CHECK(o[5 * l + 1] == h[4 * l + 1]);
    CHECK(std::isnan(o[5 * l + 2]));
    CHECK(o[5 * l + 3] == h[128 + l]);
    CHECK(o[5 * l + 4] == 0.f);
  }
}

TEST_CASE("emu cp.async: wait_group does not wait for copies that were never committed") {
  std::vector<float> h = {3.f, 4.f, 5.f, 6.f};
  DevBuf<float> src(h), out(2);
  FRCNN_LAUNCH(emu_cp_async_uncommitted_kernel, 1, 32, 0, nullptr, src.get(), out.get());
  const auto o = out.download();
  CHECK(std::isnan(o[0]));
  CHECK(o[1] == 3.f);
}
