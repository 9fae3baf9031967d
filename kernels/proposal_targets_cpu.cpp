// CPU reference for proposal_targets.h.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/proposal_targets.h"
#include "kernels/sampling.h"

namespace frcnn {

// Row m of the candidate list: proposals (P, 4) then gt (G, 4).
static const float* candidate(const float* props, int P, const float* gt, int m) {
  return m < P ? props + 4 * m : gt + 4 * (m - P);
}

ProposalTargets proposal_targets_cpu(const float* props, int P, const float* gt, const int32_t* gt_labels, int G,
                                     int num_classes, const ProposalTargetConfig& cfg, RngKey key) {
  const int M = P + G;
  std::vector<int> arg(M, -1);
  std::vector<uint64_t> keys(M);
  int n_fg = 0, n_bg = 0;
  for (int m = 0; m < M; ++m) {
    const float* b = candidate(props, P, gt, m);
    float best = 0.f;
    for (int g = 0; g < G; ++g) {
      const float iou = box_iou(b, gt + 4 * g);
      if (arg[m] < 0 || iou > best) best = iou, arg[m] = g;
    }
    uint32_t grp = kSampleNone;
    if (best >= cfg.fg_thresh) grp = kSampleFg;
    else if (best >= cfg.bg_lo && best < cfg.bg_hi) grp = kSampleBg;
    n_fg += grp == kSampleFg;
    n_bg += grp == kSampleBg;
    keys[m] = sample_key(grp, key.seed, key.stream, uint32_t(m));
  }
  std::sort(keys.begin(), keys.end());
  const int keep_fg = std::min(n_fg, static_cast<int>(std::nearbyint(cfg.fg_fraction * cfg.batch)));
  const int keep_bg = std::max(0, std::min(n_bg, cfg.batch - keep_fg));
  const int R = keep_fg + keep_bg, C4 = 4 * num_classes;
  ProposalTargets t{Tensor::empty({R, 4}), Tensor::empty({R}, DType::I32), Tensor::zeros({R, C4}),
                    Tensor::zeros({R, C4})};
  for (int i = 0; i < R; ++i) {
    const int pos = i < keep_fg ? i : n_fg + (i - keep_fg);  // sorted position of row i
    const int m = int(sample_index(keys[pos]));
    const float* b = candidate(props, P, gt, m);
    for (int j = 0; j < 4; ++j) t.rois.data<float>()[4 * i + j] = b[j];
    const int32_t label = i < keep_fg ? gt_labels[arg[m]] : 0;
    t.labels.data<int32_t>()[i] = label;
    if (label > 0) {
      encode_box(b, gt + 4 * arg[m], cfg.coder, t.bbox_targets.data<float>() + int64_t(i) * C4 + 4 * label);
      for (int j = 0; j < 4; ++j) t.bbox_inside_weights.data<float>()[int64_t(i) * C4 + 4 * label + j] = 1.f;
    }
  }
  return t;
}

}  // namespace frcnn
