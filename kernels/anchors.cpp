// Dispatch for make_anchors (anchors.h).
#include "kernels/anchors.h"

#include <stdexcept>
#include <string>

#if FRCNN_WITH_CUDA
#include "kernels/anchors_cuda.h"
#endif

namespace frcnn {

void make_anchors_cpu(const float* base, int A, int feat_h, int feat_w, int stride, float* out);

Tensor make_anchors(int feat_h, int feat_w, int stride, const std::vector<float>& sizes,
                    const std::vector<float>& ratios, Device device, Stream stream) {
  if (feat_h < 0 || feat_w < 0)
    throw std::invalid_argument("make_anchors: negative feature map size " + std::to_string(feat_h) + "x" +
                                std::to_string(feat_w));
  Tensor base = base_anchors(stride, sizes, ratios);
  const int A = static_cast<int>(base.size(0));
  const int64_t K = int64_t(feat_h) * feat_w * A;
  if (K >= (int64_t(1) << 31) / 4) throw std::invalid_argument("make_anchors: feature map too large");
  Tensor out = Tensor::empty({K, 4}, DType::F32, device, stream);
  if (K == 0) return out;
  if (device.is_cuda()) {
#if FRCNN_WITH_CUDA
    make_anchors_cuda(base.data<float>(), A, feat_h, feat_w, stride, out.data<float>(), device, stream);
    return out;
#else
    throw std::runtime_error("make_anchors: asked for " + device.str() + " but this build has no CUDA backend");
#endif
  }
  make_anchors_cpu(base.data<float>(), A, feat_h, feat_w, stride, out.data<float>());
  return out;
}

}  // namespace frcnn
