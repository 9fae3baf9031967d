// Every PTX instruction our tensor-core kernels use, each behind a named device function
// (include only from *.cu). With nvcc (sm_80 and newer) each is one inline-asm instruction;
// in the emulated build (FRCNN_CUDA_EMULATION, emu/) each has a twin that implements the
// register fragment layout the PTX ISA documents ("Warp-level matrix fragments"), on
// emu::warp_collective, so a kernel that gets a layout wrong fails its test in CI, without a GPU.
//
// Fragment layouts (lane = 4 * group + tig: group = lane / 4, tig ("thread in group") = lane % 4):
//   mma.m16n8k8 .tf32:  A (16 x 8, row)  a[0..3]: (group,      tig), (group + 8, tig),
//                                                 (group,  tig + 4), (group + 8, tig + 4)
//                       B (8 x 8, col)   b[0..1]: (tig, group), (tig + 4, group)
//   mma.m16n8k16 .bf16: A (16 x 16, row) a[r] holds two bf16 (low half first):
//                         a[0]: (group, 2 tig + {0,1})      a[1]: (group + 8, 2 tig + {0,1})
//                         a[2]: (group, 2 tig + 8 + {0,1})  a[3]: (group + 8, 2 tig + 8 + {0,1})
//                       B (16 x 8, col)  b[0]: (2 tig + {0,1}, group), b[1]: (2 tig + 8 + {0,1}, group)
//   C, D (16 x 8, f32)  c[0..3]: (group, 2 tig), (group, 2 tig + 1), (group + 8, 2 tig), (group + 8, 2 tig + 1)
//   ldmatrix .m8n8 .b16: lanes 8j..8j+7 give the row addresses (16 bytes each) of matrix j;
//                        r[j] of lane L holds matrix j's (L / 4, 2 (L % 4) + {0,1}), or with
//                        .trans (2 (L % 4) + {0,1}, L / 4).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>

#include "kernels/tensor_formats.h"

namespace frcnn::ptx {

// ---- the instructions --------------------------------------------------------------------------

// cvt.rna.tf32.f32: x as a .tf32 operand (returned in a .b32 register).
__device__ inline uint32_t cvt_tf32(float x);

// D = A B + C, one warp, m16n8k8, TF32 operands, FP32 accumulate (layouts above).
__device__ inline void mma_m16n8k8_tf32(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]);

// D = A B + C, one warp, m16n8k16, BF16 operands (two per register), FP32 accumulate.
__device__ inline void mma_m16n8k16_bf16(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]);

// ldmatrix.sync.aligned.m8n8.x4.shared.b16 and .x2.trans: `row` is this lane's row address
// in shared memory (16-byte aligned), as the layout above assigns rows to lanes.
__device__ inline void ldmatrix_x4(uint32_t r[4], const void* row);
__device__ inline void ldmatrix_x2_trans(uint32_t r[2], const void* row);

// cvt.rn.bf16x2.f32: lo and hi rounded to bf16 (nearest even), packed lo in bits 0..15,
// hi in 16..31: the order a bf16 mma operand register holds two consecutive k's.
__device__ inline uint32_t cvt_bf16x2(float lo, float hi);

// cp.async.cg.shared.global: 16 bytes global -> shared, both 16-byte aligned; completes at
// the cp_async_wait that covers its group (a commit closes a group). The _zfill forms copy
// the bytes only when `valid` (then `gmem` is read) and write zeros otherwise (`gmem` must
// still be a valid global address: the src-size 0 form reads nothing, but we do not rely
// on an invalid address being harmless); the 4-byte one is .ca (4 bytes is below .cg's
// 16). The emulated twins really defer the shared-memory write until the wait that retires
// the group (emu::async_copy), so a kernel that reads a stage early fails its test.
__device__ inline void cp_async_16(void* smem, const void* gmem);
__device__ inline void cp_async_16_zfill(void* smem, const void* gmem, bool valid);
__device__ inline void cp_async_4_zfill(void* smem, const void* gmem, bool valid);
__device__ inline void cp_async_commit();
template <int N>  // waits until at most N committed groups are still in flight
__device__ inline void cp_async_wait();

#if !FRCNN_CUDA_EMULATION

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
#define FRCNN_PTX_UNSUPPORTED() __trap()  // tensor-core TF32/BF16, ldmatrix, cp.async: sm_80+
#else
#define FRCNN_PTX_UNSUPPORTED()
#endif

__device__ inline uint32_t cvt_tf32(float x) {
  uint32_t r = 0;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
#else
  FRCNN_PTX_UNSUPPORTED();
#endif
  return r;
}

// Both mma shapes take the same registers: {d0..d3} f32, {a0..a3} and {b0, b1} .b32, {c0..c3} f32.
#define FRCNN_MMA_F32_ASM(shape_and_types)                                                              \
  asm volatile("mma.sync.aligned." shape_and_types                                                     \
               " {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};"                   \
               : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])                                         \
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), \
                 "f"(c[2]), "f"(c[3]))

__device__ inline void mma_m16n8k8_tf32(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  FRCNN_MMA_F32_ASM("m16n8k8.row.col.f32.tf32.tf32.f32");
#else
  FRCNN_PTX_UNSUPPORTED();
#endif
}

__device__ inline void mma_m16n8k16_bf16(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  FRCNN_MMA_F32_ASM("m16n8k16.row.col.f32.bf16.bf16.f32");
#else
  FRCNN_PTX_UNSUPPORTED();
#endif
}

__device__ inline uint32_t cvt_bf16x2(float lo, float hi) {
  uint32_t r = 0;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));  // first source -> upper half
#else
  FRCNN_PTX_UNSUPPORTED();
#endif
  return r;
}

__device__ inline uint32_t shared_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ inline void ldmatrix_x4(uint32_t r[4], const void* row) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(row)));
#else
  FRCNN_PTX_UNSUPPORTED();
#endif
}

__device__ inline void ldmatrix_x2_trans(uint32_t r[2], const void* row) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0, %1}, [%2];"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(shared_address(row)));
#else
  FRCNN_PTX_UNSUPPORTED();
#endif
}

__device__ inline void cp_async_16(void* smem, const void* gmem) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(shared_address(smem)), "l"(gmem));
#else
  FRCNN_PTX_UNSUPPORTED();
#endif
}

__device__ inline void cp_async_16_zfill(void* smem, const void* gmem, bool valid) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(shared_address(smem)), "l"(gmem),
               "r"(valid ? 16 : 0));
#else
  FRCNN_PTX_UNSUPPORTED();
#endif
}

__device__ inline void cp_async_4_zfill(void* smem, const void* gmem, bool valid) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;" ::"r"(shared_address(smem)), "l"(gmem),
               "r"(valid ? 4 : 0));
#else
  FRCNN_PTX_UNSUPPORTED();
#endif
}

__device__ inline void cp_async_commit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;");
#endif
}

template <int N>
__device__ inline void cp_async_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;" ::"n"(N));
#endif
}

#else  // FRCNN_CUDA_EMULATION: the twins

namespace twin {
struct MmaRegs {
  uint32_t a[4], b[2];
};
// Lane holding element (row, col) of an operand, and which register, per the layouts above.
inline unsigned lane_of(unsigned group, unsigned tig) { return 4 * group + tig; }

// One warp's mma with K products: every lane deposits its A and B registers, then computes
// its four D elements (the C/D layout above) as C plus the K products in k order, in FP32.
// elem_a(regs, r, k) and elem_b(regs, k, n) read one operand element out of the gathered
// registers (regs(lane) is that lane's MmaRegs), per the format's fragment layout.
template <unsigned K, class ElemA, class ElemB>
inline void mma(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4], const char* what,
                ElemA elem_a, ElemB elem_b) {
  MmaRegs mine;
  memcpy(mine.a, a, sizeof mine.a);
  memcpy(mine.b, b, sizeof mine.b);
  const emu::WarpTable t = emu::warp_collective(0xFFFFFFFFu, &mine, sizeof mine, what, __FILE__, __LINE__);
  auto regs = [&](unsigned lane) { return t.at<MmaRegs>(lane); };
  const unsigned lane = emu::lane_id(), group = lane / 4, tig = lane % 4;
  for (int i = 0; i < 4; ++i) {
    const unsigned row = group + (i >= 2 ? 8 : 0), col = 2 * tig + (i & 1);
    float acc = c[i];
    for (unsigned k = 0; k < K; ++k) acc += elem_a(regs, row, k) * elem_b(regs, k, col);
    d[i] = acc;
  }
}
}  // namespace twin

inline uint32_t cvt_tf32(float x) { return tf32_round_bits(float_bits(x)); }

// A(r, k): lane 4 (r % 8) + k % 4, register (r >= 8) + 2 (k >= 4); B(k, n): lane 4 n + k % 4,
// register (k >= 4). The tensor core reads the top 19 bits of each.
inline void mma_m16n8k8_tf32(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]) {
  twin::mma<8>(
      d, a, b, c, "mma.m16n8k8.tf32",
      [](auto regs, unsigned r, unsigned k) {
        return bits_float(tf32_truncate_bits(regs(twin::lane_of(r % 8, k % 4)).a[(r >= 8 ? 1 : 0) + (k >= 4 ? 2 : 0)]));
      },
      [](auto regs, unsigned k, unsigned n) {
        return bits_float(tf32_truncate_bits(regs(twin::lane_of(n, k % 4)).b[k >= 4 ? 1 : 0]));
      });
}

// A(r, k): lane 4 (r % 8) + (k % 8) / 2, register (r >= 8) + 2 (k >= 8), half k % 2;
// B(k, n): lane 4 n + (k % 8) / 2, register (k >= 8), half k % 2. bf16 x bf16 is exact in FP32.
inline void mma_m16n8k16_bf16(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]) {
  auto half = [](uint32_t reg, unsigned hi) { return bf16_bits_float(uint16_t(hi ? reg >> 16 : reg & 0xFFFFu)); };
  twin::mma<16>(
      d, a, b, c, "mma.m16n8k16.bf16",
      [&](auto regs, unsigned r, unsigned k) {
        return half(regs(twin::lane_of(r % 8, (k % 8) / 2)).a[(r >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0)], k % 2);
      },
      [&](auto regs, unsigned k, unsigned n) { return half(regs(twin::lane_of(n, (k % 8) / 2)).b[k >= 8 ? 1 : 0], k % 2); });
}

// The 16-bit element `e` of the row that lane `src` addressed.
inline uint16_t ldmatrix_element(const emu::WarpTable& t, unsigned src, unsigned e) {
  const auto* row = t.at<const uint16_t*>(src);
  uint16_t v;
  memcpy(&v, row + e, 2);
  return v;
}

inline void ldmatrix_x4(uint32_t r[4], const void* row) {
  const emu::WarpTable t = emu::warp_collective(0xFFFFFFFFu, &row, sizeof row, "ldmatrix.x4", __FILE__, __LINE__);
  const unsigned lane = emu::lane_id();
  for (unsigned j = 0; j < 4; ++j) {
    const unsigned src = 8 * j + lane / 4, e = 2 * (lane % 4);
    r[j] = uint32_t(ldmatrix_element(t, src, e)) | uint32_t(ldmatrix_element(t, src, e + 1)) << 16;
  }
}

inline void ldmatrix_x2_trans(uint32_t r[2], const void* row) {
  const emu::WarpTable t =
      emu::warp_collective(0xFFFFFFFFu, &row, sizeof row, "ldmatrix.x2.trans", __FILE__, __LINE__);
  const unsigned lane = emu::lane_id();
  for (unsigned j = 0; j < 2; ++j) {
    const unsigned src0 = 8 * j + 2 * (lane % 4), e = lane / 4;
    r[j] = uint32_t(ldmatrix_element(t, src0, e)) | uint32_t(ldmatrix_element(t, src0 + 1, e)) << 16;
  }
}

inline uint32_t cvt_bf16x2(float lo, float hi) {
  return uint32_t(bf16_round_bits(float_bits(lo))) | uint32_t(bf16_round_bits(float_bits(hi))) << 16;
}

inline void cp_async_16(void* smem, const void* gmem) { emu::async_copy(smem, gmem, 16, 16, __FILE__, __LINE__); }
inline void cp_async_16_zfill(void* smem, const void* gmem, bool valid) {
  emu::async_copy(smem, gmem, 16, valid ? 16 : 0, __FILE__, __LINE__);
}
inline void cp_async_4_zfill(void* smem, const void* gmem, bool valid) {
  emu::async_copy(smem, gmem, 4, valid ? 4 : 0, __FILE__, __LINE__);
}
inline void cp_async_commit() { emu::async_commit(); }
template <int N>
inline void cp_async_wait() {
  emu::async_wait(N);
}

#endif

}  // namespace frcnn::ptx
