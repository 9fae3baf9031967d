// CPU reference for anchor_targets.h.
#include <algorithm>
#include <vector>

#include "kernels/anchor_targets.h"
#include "kernels/box_math.h"
#include "kernels/sampling.h"

namespace frcnn {

// anchors: (K, 4), gt: (G, 4) -> labels (K), targets/inside/outside (K, 4) (pre-zeroed)
void anchor_targets_cpu(const float* anchors, int K, const float* gt, int G, float img_h, float img_w,
                        const AnchorTargetConfig& cfg, RngKey key, int32_t* labels, float* targets, float* inside_w,
                        float* outside_w) {
  const float b = cfg.allowed_border;
  std::vector<char> inside(K);
  std::vector<float> max_ov(K, 0.f);
  std::vector<int> arg(K, -1);
  std::vector<float> gt_max(G, 0.f);
  for (int k = 0; k < K; ++k) {
    const float* a = anchors + 4 * k;
    inside[k] = a[0] >= -b && a[1] >= -b && a[2] <= img_w + b && a[3] <= img_h + b;
    if (!inside[k]) continue;
    for (int g = 0; g < G; ++g) {
      const float iou = box_iou(a, gt + 4 * g);
      if (arg[k] < 0 || iou > max_ov[k]) {
        max_ov[k] = iou;
        arg[k] = g;
      }
      gt_max[g] = std::max(gt_max[g], iou);
    }
  }
  int n_fg = 0, n_bg = 0;
  for (int k = 0; k < K; ++k) {
    int32_t l = -1;
    if (inside[k]) {
      if (max_ov[k] < cfg.neg_iou) l = 0;
      for (int g = 0; g < G; ++g)
        if (gt_max[g] > 0.f && box_iou(anchors + 4 * k, gt + 4 * g) == gt_max[g]) l = 1;
      if (max_ov[k] >= cfg.pos_iou) l = 1;
    }
    labels[k] = l;
    n_fg += l == 1;
    n_bg += l == 0;
  }
  // sampling (sampling.h)
  std::vector<uint64_t> keys(K);
  for (int k = 0; k < K; ++k)
    keys[k] = sample_key(labels[k] == 1 ? kSampleFg : labels[k] == 0 ? kSampleBg : kSampleNone, key.seed, key.stream,
                         uint32_t(k));
  std::sort(keys.begin(), keys.end());
  const int keep_fg = std::min(n_fg, static_cast<int>(cfg.fg_fraction * cfg.batch));
  const int keep_bg = std::min(n_bg, cfg.batch - keep_fg);
  for (int i = 0; i < K; ++i) {
    const uint32_t grp = sample_group(keys[i]), k = sample_index(keys[i]);
    if (grp == kSampleFg && i >= keep_fg) labels[k] = -1;
    if (grp == kSampleBg && i - n_fg >= keep_bg) labels[k] = -1;
  }
  const float w = keep_fg + keep_bg > 0 ? 1.f / float(keep_fg + keep_bg) : 0.f;
  for (int k = 0; k < K; ++k) {
    if (labels[k] == 1) {
      encode_box(anchors + 4 * k, gt + 4 * arg[k], BoxCoder{}, targets + 4 * k);
      for (int j = 0; j < 4; ++j) inside_w[4 * k + j] = 1.f;
    }
    if (labels[k] >= 0)
      for (int j = 0; j < 4; ++j) outside_w[4 * k + j] = w;
  }
}

}  // namespace frcnn
