// CPU reference for proposals.h: decode loop, stable sort, greedy NMS.
#include <algorithm>

#include "kernels/nms_impl.h"
#include "kernels/proposals.h"

namespace frcnn {

// scores: (A, H*W), deltas: (4A, H*W), anchors: (K, 4), K = H*W*A
Proposals proposal_layer_cpu(const float* scores, const float* deltas, const float* anchors, int A, int HW,
                             float img_h, float img_w, float min_size, const ProposalConfig& cfg) {
  const int K = A * HW;
  std::vector<float> boxes, sc;  // the boxes passing the filter, in anchor order
  for (int k = 0; k < K; ++k) {
    float b[4];
    if (!proposal_box(deltas, anchors, k, A, HW, img_h, img_w, min_size, b)) continue;
    boxes.insert(boxes.end(), b, b + 4);
    sc.push_back(scores[(k % A) * HW + k / A]);
  }
  std::vector<int32_t> order = nms_detail::order_by_score_desc(sc.data(), int64_t(sc.size()));
  if (cfg.pre_nms_top_n > 0 && int64_t(order.size()) > cfg.pre_nms_top_n) order.resize(cfg.pre_nms_top_n);
  const int64_t n = int64_t(order.size());
  std::vector<float> sorted(4 * n);
  for (int64_t i = 0; i < n; ++i)
    for (int j = 0; j < 4; ++j) sorted[4 * i + j] = boxes[4 * order[i] + j];
  std::vector<int32_t> keep = nms_detail::nms_sorted_cpu(sorted.data(), nullptr, n, cfg.nms_thresh, cfg.post_nms_top_n);
  const int64_t P = int64_t(keep.size());
  Proposals out{Tensor::empty({P, 4}), Tensor::empty({P})};
  for (int64_t i = 0; i < P; ++i) {
    for (int j = 0; j < 4; ++j) out.boxes.data<float>()[4 * i + j] = sorted[4 * keep[i] + j];
    out.scores.data<float>()[i] = sc[order[keep[i]]];
  }
  return out;
}

}  // namespace frcnn
