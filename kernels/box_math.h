// Per-element box maths shared by the CPU and CUDA kernels (FRCNN_HD): IoU, delta
// encode/decode, clipping. Written once so both devices compute the same thing.
//
// Conventions (docs/KERNELS.md, Conventions): boxes are (x1, y1, x2, y2) in continuous image coordinates,
// no "+1": width = x2 - x1.
//
// Bit-exactness between devices: every product goes through fmul_rn(), which the CUDA
// compiler never fuses with a neighbouring add into an FMA (nvcc contracts by default).
// The host compiler would contract too where it can: GCC's C++ default is
// -ffp-contract=fast, -std=c++17 or not. Our builds target baseline x86-64, which has no
// FMA instruction, so the CPU rounds every operation on its own; a host build for an FMA
// target (-march=haswell or later, aarch64) needs -ffp-contract=off to stay bit-identical
// (the emulated build passes it). IoU uses only +, -, *, / and max/min, all correctly
// rounded on both devices, so box_iou() is bit-identical on the CPU and the GPU, and so
// are NMS keep lists and IoU-threshold labels. Decode/encode use exp/log, whose device
// versions may differ from the host libm by an ulp or two.
#pragma once
#include <math.h>

#include "engine/host_device.h"

namespace frcnn {

// dw/dh are clamped to this before exp() in decode (log(1000/16), as in detectron2 and
// torchvision): a predicted box is at most 1000/16 = 62.5 times its reference.
constexpr float kBoxDeltaClamp = 4.135166556742356f;

// Widths/heights below this are treated as this in encode(), so a degenerate (zero
// area) box gives finite, if huge, targets instead of inf/NaN.
constexpr float kEncodeMinSize = 1e-3f;

FRCNN_HD float fmul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

// Area with negative extents counted as 0: an inverted box has area 0, not a negative one.
FRCNN_HD float box_area(float x1, float y1, float x2, float y2) {
  return fmul_rn(fmaxf(x2 - x1, 0.f), fmaxf(y2 - y1, 0.f));
}

// IoU of two boxes a, b (each 4 floats). inter / (area_a + area_b - inter), evaluated
// in that order (as torchvision's nms); 0 when the union is 0 (two empty boxes).
FRCNN_HD float box_iou(const float* a, const float* b) {
  float iw = fmaxf(fminf(a[2], b[2]) - fmaxf(a[0], b[0]), 0.f);
  float ih = fmaxf(fminf(a[3], b[3]) - fmaxf(a[1], b[1]), 0.f);
  float inter = fmul_rn(iw, ih);
  float uni = box_area(a[0], a[1], a[2], a[3]) + box_area(b[0], b[1], b[2], b[3]) - inter;
  return uni > 0.f ? inter / uni : 0.f;
}

// Normalisation of deltas: stored delta = (raw - mean) / std, per coordinate (dx, dy, dw, dh).
struct BoxCoder {
  float means[4] = {0.f, 0.f, 0.f, 0.f};
  float stds[4] = {1.f, 1.f, 1.f, 1.f};
};

// Deltas that take `ref` to `gt` (Girshick et al.):
//   dx = (gcx - rcx) / rw, dy = (gcy - rcy) / rh, dw = log(gw / rw), dh = log(gh / rh)
// with w = x2 - x1, cx = x1 + w/2; then normalised by the coder. Sizes below
// kEncodeMinSize count as kEncodeMinSize.
FRCNN_HD void encode_box(const float* ref, const float* gt, const BoxCoder& c, float* out) {
  float rw = fmaxf(ref[2] - ref[0], kEncodeMinSize), rh = fmaxf(ref[3] - ref[1], kEncodeMinSize);
  float rcx = ref[0] + 0.5f * rw, rcy = ref[1] + 0.5f * rh;
  float gw = fmaxf(gt[2] - gt[0], kEncodeMinSize), gh = fmaxf(gt[3] - gt[1], kEncodeMinSize);
  float gcx = gt[0] + 0.5f * gw, gcy = gt[1] + 0.5f * gh;
  float d[4] = {(gcx - rcx) / rw, (gcy - rcy) / rh, logf(gw / rw), logf(gh / rh)};
  for (int j = 0; j < 4; ++j) out[j] = (d[j] - c.means[j]) / c.stds[j];
}

// Inverse of encode_box: the box that `delta` (normalised) makes of `ref`. dw, dh are
// clamped at kBoxDeltaClamp so exp() stays finite.
FRCNN_HD void decode_box(const float* ref, const float* delta, const BoxCoder& c, float* out) {
  float rw = ref[2] - ref[0], rh = ref[3] - ref[1];
  float rcx = ref[0] + 0.5f * rw, rcy = ref[1] + 0.5f * rh;
  float dx = fmul_rn(delta[0], c.stds[0]) + c.means[0];
  float dy = fmul_rn(delta[1], c.stds[1]) + c.means[1];
  float dw = fminf(fmul_rn(delta[2], c.stds[2]) + c.means[2], kBoxDeltaClamp);
  float dh = fminf(fmul_rn(delta[3], c.stds[3]) + c.means[3], kBoxDeltaClamp);
  float cx = fmul_rn(dx, rw) + rcx, cy = fmul_rn(dy, rh) + rcy;
  float w = fmul_rn(expf(dw), rw), h = fmul_rn(expf(dh), rh);
  out[0] = cx - 0.5f * w;
  out[1] = cy - 0.5f * h;
  out[2] = cx + 0.5f * w;
  out[3] = cy + 0.5f * h;
}

// Clips a box in place to the image [0, img_w] x [0, img_h] (continuous coordinates).
FRCNN_HD void clip_box(float* b, float img_h, float img_w) {
  b[0] = fminf(fmaxf(b[0], 0.f), img_w);
  b[1] = fminf(fmaxf(b[1], 0.f), img_h);
  b[2] = fminf(fmaxf(b[2], 0.f), img_w);
  b[3] = fminf(fmaxf(b[3], 0.f), img_h);
}

// The min-size filter: width and height both at least `min_size` (no +1).
FRCNN_HD bool box_min_size_ok(const float* b, float min_size) {
  return (b[2] - b[0]) >= min_size && (b[3] - b[1]) >= min_size;
}

}  // namespace frcnn
