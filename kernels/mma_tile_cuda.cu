// CUDA half of mma_tile.h: one warp per tile, every operand through the PTX wrappers of
// kernels/ptx.cuh (on sm_80+; the emulated device runs their twins).
#include "kernels/cuda_util.cuh"
#include "kernels/mma_tile_cuda.h"
#include "kernels/precision_cuda.h"
#include "kernels/ptx.cuh"

namespace frcnn {

namespace {

// a: (16, 8), b: (8, 8), c, d: (16, 8). Fragments read straight from global memory at
// the positions the m16n8k8 layout gives each lane.
__global__ void mma_tile_tf32_kernel(const float* a, const float* b, const float* c, float* d) {
  const int lane = threadIdx.x, group = lane / 4, tig = lane % 4;
  uint32_t fa[4], fb[2];
  fa[0] = ptx::cvt_tf32(a[group * 8 + tig]);
  fa[1] = ptx::cvt_tf32(a[(group + 8) * 8 + tig]);
  fa[2] = ptx::cvt_tf32(a[group * 8 + tig + 4]);
  fa[3] = ptx::cvt_tf32(a[(group + 8) * 8 + tig + 4]);
  fb[0] = ptx::cvt_tf32(b[tig * 8 + group]);
  fb[1] = ptx::cvt_tf32(b[(tig + 4) * 8 + group]);
  float fc[4], fd[4];
  for (int i = 0; i < 4; ++i) fc[i] = c[(group + (i >= 2 ? 8 : 0)) * 8 + 2 * tig + (i & 1)];
  ptx::mma_m16n8k8_tf32(fd, fa, fb, fc);
  for (int i = 0; i < 4; ++i) d[(group + (i >= 2 ? 8 : 0)) * 8 + 2 * tig + (i & 1)] = fd[i];
}

// a16: (16, 16) and b16: (16, 8) BF16 bits, row-major; c, d: (16, 8). The operands go to
// shared memory by cp.async (32 + 16 chunks of 16 bytes) and into fragments by ldmatrix:
// A's four 8x8 quarters with .x4 (lane L addresses row (L % 8) + 8 ((L / 8) % 2), column
// 8 (L / 16)), B's two 8x8 halves (k 0..7, 8..15) with .x2.trans (lane L < 16 addresses
// row L).
__global__ void mma_tile_bf16_kernel(const uint16_t* a16, const uint16_t* b16, const float* c, float* d) {
  FRCNN_SHARED_ALIGNED(16, uint16_t, As, [16 * 16]);
  FRCNN_SHARED_ALIGNED(16, uint16_t, Bs, [16 * 8]);
  const int lane = threadIdx.x, group = lane / 4, tig = lane % 4;
  ptx::cp_async_16(As + 8 * lane, a16 + 8 * lane);
  if (lane < 16) ptx::cp_async_16(Bs + 8 * lane, b16 + 8 * lane);
  ptx::cp_async_commit();
  ptx::cp_async_wait<0>();
  __syncwarp();
  uint32_t fa[4], fb[2];
  ptx::ldmatrix_x4(fa, As + ((lane % 8) + 8 * ((lane / 8) % 2)) * 16 + 8 * (lane / 16));
  ptx::ldmatrix_x2_trans(fb, Bs + (lane % 16) * 8);
  float fc[4], fd[4];
  for (int i = 0; i < 4; ++i) fc[i] = c[(group + (i >= 2 ? 8 : 0)) * 8 + 2 * tig + (i & 1)];
  ptx::mma_m16n8k16_bf16(fd, fa, fb, fc);
  for (int i = 0; i < 4; ++i) d[(group + (i >= 2 ? 8 : 0)) * 8 + 2 * tig + (i & 1)] = fd[i];
}

}  // namespace

void mma_tile_cuda(MmaFormat format, const float* a, const float* b, const float* c, float* d, const Device& dev,
                   Stream s) {
  const cudaStream_t st = cuda_stream(s);
  if (format == MmaFormat::Tf32) {
    FRCNN_LAUNCH(mma_tile_tf32_kernel, 1, 32, 0, st, a, b, c, d);
    return;
  }
  cuda_detail::Scratch<uint16_t> a16(16 * 16, dev, s), b16(16 * 8, dev, s);
  to_bf16_cuda(a, a16.p, 16 * 16, s);  // kernels/precision.h's conversion
  to_bf16_cuda(b, b16.p, 16 * 8, s);
  FRCNN_LAUNCH(mma_tile_bf16_kernel, 1, 32, 0, st, a16.p, b16.p, c, d);
}

}  // namespace frcnn
