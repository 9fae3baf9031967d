// Dispatch and shape checks of image_blob.h.
#include "kernels/image_blob.h"

#include "kernels/dispatch.h"

#if FRCNN_WITH_CUDA
#include "kernels/image_blob_cuda.h"
#endif

namespace frcnn {

void pad_image_into_cpu(const float* image, int C, int h, int w, float* slot, int H, int W);

using namespace kernels_detail;

void pad_image_into(Context& ctx, const Tensor& image, Tensor& blob, int64_t b) {
  const char* op = "pad_image_into";
  require(image.defined() && image.dtype() == DType::F32 && image.ndim() == 4 && image.size(0) == 1, op,
          "image must be F32 (1, C, h, w), got " + desc(image));
  require(blob.defined() && blob.dtype() == DType::F32 && blob.ndim() == 4, op,
          "blob must be F32 (B, C, H, W), got " + desc(blob));
  require(blob.size(1) == image.size(1) && image.size(2) <= blob.size(2) && image.size(3) <= blob.size(3), op,
          "image " + desc(image) + " does not fit a slot of blob " + desc(blob));
  require(b >= 0 && b < blob.size(0), op, "slot " + std::to_string(b) + " outside blob " + desc(blob));
  const Device dev = common_device(op, {&image, &blob});
  const int C = int(image.size(1)), h = int(image.size(2)), w = int(image.size(3));
  const int H = int(blob.size(2)), W = int(blob.size(3));
  float* slot = blob.data<float>() + b * int64_t(C) * H * W;
  if (int64_t(C) * H * W == 0) return;
  if (dev.is_cuda()) {
#if FRCNN_WITH_CUDA
    pad_image_into_cuda(image.data<float>(), C, h, w, slot, H, W, ctx.stream());
#endif
  } else {
    pad_image_into_cpu(image.data<float>(), C, h, w, slot, H, W);
  }
}

}  // namespace frcnn
