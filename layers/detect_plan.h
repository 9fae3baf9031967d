// What FasterRCNN::detect keeps per input shape on a CUDA device, so that once it is warm
// an image costs: two async copies in (the image, its scale), the detector's GPU work —
// queued eagerly, or replayed as one CUDA graph —, one async copy of the packed result
// out to pinned memory, and ONE sync; no device allocation, no other read-back.
//
// The plan's memory pool (engine/allocator.h) serves every allocation the detector makes
// on the context's stream while the plan runs: the first run fills it, later runs take
// their blocks from it, and the blocks a captured graph was recorded with stay reserved
// for that graph. Plans are keyed by everything a graph bakes in: the input size, the
// context's stream and precision, the conv backend, whether graphs are on — and, for a
// batch (FasterRCNN::detect_batch), every image's own size inside the padded blob (the
// proposals and boxes are clipped to it).
#pragma once
#include <cstdint>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/allocator.h"
#include "engine/cuda_graph.h"
#include "engine/math_mode.h"
#include "engine/tensor.h"
#include "layers/conv2d_layer.h"

namespace frcnn {

struct DetectPlanKey {
  int64_t height = 0, width = 0;                      // the input blob's (every image's for B = 1)
  std::vector<std::pair<int64_t, int64_t>> images;   // B entries: each image's (h, w) in the blob
  uint64_t stream_id = 0;
  MathMode math = MathMode::Fp32;
  ConvBackend backend = ConvBackend::Own;
  bool graphs = true;
  int64_t batch() const { return int64_t(images.size()); }
  bool operator<(const DetectPlanKey& o) const {
    return std::tie(height, width, images, stream_id, math, backend, graphs) <
           std::tie(o.height, o.width, o.images, o.stream_id, o.math, o.backend, o.graphs);
  }
};

struct DetectPlan {
  DetectPlan(const Device& dev, Stream s, const DetectPlanKey& key);

  DetectPlanKey key;
  int64_t det_capacity = 0;   // rows of one image's packed detections (nms.h), known after the first run
  int64_t packed_words = 0;   // I32 words of one image's packed detections
  MemoryPool pool;            // first: destroyed after everything allocated from it
  Tensor input;               // (B, 3, H, W): the images are copied (padded) here
  Tensor params;              // (2B) F32: per image scale, 1 / scale (read by the kernels)
  PinnedBuffer host_params;   // the same floats, on the host side of the copy
  PinnedBuffer host_result;   // B packed detections (nms.h) back to back, copied back each run (first run allocates)
  CudaEvent phase[4];         // before conv, after conv, after proposals, after the copy out
  CudaGraph graph;            // captured on the second run when graphs are on
  bool capture_failed = false;  // the capture was refused: this plan runs eagerly
  int64_t runs = 0;           // detect() calls served
  uint64_t last_use = 0;      // for evicting the least recently used plan
};

}  // namespace frcnn
