// Dispatch and argument checks for box_ops.h.
#include "kernels/box_ops.h"

#include "kernels/dispatch.h"

#if FRCNN_WITH_CUDA
#include "kernels/box_ops_cuda.h"
#endif

namespace frcnn {

using namespace kernels_detail;

// box_ops_cpu.cpp
void box_iou_cpu(const float* a, int64_t n, const float* b, int64_t m, float* out);
void encode_boxes_cpu(const float* refs, const float* gts, int64_t n, const BoxCoder& c, float* out);
void decode_boxes_cpu(const float* refs, const float* deltas, int64_t n, int64_t classes, const BoxCoder& c,
                      float* out);
void clip_boxes_cpu(const float* in, int64_t nboxes, float img_h, float img_w, float* out);
std::vector<int32_t> min_size_keep_cpu(const float* boxes, int64_t n, float min_size);

Tensor box_iou(Context& ctx, const Tensor& a, const Tensor& b) {
  require_boxes("box_iou", a, "a");
  require_boxes("box_iou", b, "b");
  [[maybe_unused]] Device dev = common_device("box_iou", {&a, &b});
  Tensor out = Tensor::empty({a.size(0), b.size(0)}, DType::F32, dev, ctx.stream());
  if (out.numel() == 0) return out;
#if FRCNN_WITH_CUDA
  if (dev.is_cuda()) {
    box_iou_cuda(a.data<float>(), a.size(0), b.data<float>(), b.size(0), out.data<float>(), ctx.stream());
    return out;
  }
#endif
  box_iou_cpu(a.data<float>(), a.size(0), b.data<float>(), b.size(0), out.data<float>());
  return out;
}

Tensor encode_boxes(Context& ctx, const Tensor& refs, const Tensor& gts, const BoxCoder& coder) {
  require_boxes("encode_boxes", refs, "refs");
  require_boxes("encode_boxes", gts, "gts");
  require(refs.size(0) == gts.size(0), "encode_boxes", "refs " + desc(refs) + " and gts " + desc(gts) +
                                                            " must have the same number of boxes");
  [[maybe_unused]] Device dev = common_device("encode_boxes", {&refs, &gts});
  Tensor out = Tensor::empty({refs.size(0), 4}, DType::F32, dev, ctx.stream());
  if (out.numel() == 0) return out;
#if FRCNN_WITH_CUDA
  if (dev.is_cuda()) {
    encode_boxes_cuda(refs.data<float>(), gts.data<float>(), refs.size(0), coder, out.data<float>(), ctx.stream());
    return out;
  }
#endif
  encode_boxes_cpu(refs.data<float>(), gts.data<float>(), refs.size(0), coder, out.data<float>());
  return out;
}

Tensor decode_boxes(Context& ctx, const Tensor& refs, const Tensor& deltas, const BoxCoder& coder) {
  require_boxes("decode_boxes", refs, "refs");
  require(deltas.defined() && deltas.dtype() == DType::F32 && deltas.ndim() == 2 && deltas.size(1) % 4 == 0 &&
              deltas.size(1) > 0 && deltas.size(0) == refs.size(0),
          "decode_boxes", "deltas must be F32 (N, 4*C) with N = " + std::to_string(refs.size(0)) + ", got " +
                              desc(deltas));
  [[maybe_unused]] Device dev = common_device("decode_boxes", {&refs, &deltas});
  Tensor out = Tensor::empty(deltas.shape(), DType::F32, dev, ctx.stream());
  if (out.numel() == 0) return out;
  int64_t classes = deltas.size(1) / 4;
#if FRCNN_WITH_CUDA
  if (dev.is_cuda()) {
    decode_boxes_cuda(refs.data<float>(), deltas.data<float>(), refs.size(0), classes, coder, out.data<float>(),
                      ctx.stream());
    return out;
  }
#endif
  decode_boxes_cpu(refs.data<float>(), deltas.data<float>(), refs.size(0), classes, coder, out.data<float>());
  return out;
}

Tensor clip_boxes(Context& ctx, const Tensor& boxes, float img_h, float img_w) {
  require(boxes.defined() && boxes.dtype() == DType::F32 && boxes.ndim() == 2 && boxes.size(1) % 4 == 0,
          "clip_boxes", "boxes must be F32 (N, 4*C), got " + desc(boxes));
  require(img_h >= 0 && img_w >= 0, "clip_boxes", "negative image size");
  [[maybe_unused]] Device dev = common_device("clip_boxes", {&boxes});
  Tensor out = Tensor::empty(boxes.shape(), DType::F32, dev, ctx.stream());
  if (out.numel() == 0) return out;
#if FRCNN_WITH_CUDA
  if (dev.is_cuda()) {
    clip_boxes_cuda(boxes.data<float>(), boxes.numel() / 4, img_h, img_w, out.data<float>(), ctx.stream());
    return out;
  }
#endif
  clip_boxes_cpu(boxes.data<float>(), boxes.numel() / 4, img_h, img_w, out.data<float>());
  return out;
}

Tensor min_size_keep(Context& ctx, const Tensor& boxes, float min_size) {
  require_boxes("min_size_keep", boxes, "boxes");
  [[maybe_unused]] Device dev = common_device("min_size_keep", {&boxes});
#if FRCNN_WITH_CUDA
  if (dev.is_cuda()) return min_size_keep_cuda(boxes, min_size, ctx.stream());
#endif
  auto keep = min_size_keep_cpu(boxes.data<float>(), boxes.size(0), min_size);
  return Tensor::from_vector<int32_t>({static_cast<int64_t>(keep.size())}, keep);
}

}  // namespace frcnn
