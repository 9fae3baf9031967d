// What FasterRCNN::detect keeps per input shape on a CUDA device, so that once it is warm
// an image costs: two async copies in (the image, its scale), the detector's GPU work —
// queued eagerly, or replayed as one CUDA graph —, one async copy of the packed result
// out to pinned memory, and ONE sync; no device allocation, no other read-back.
//
// The plan's memory pool (engine/allocator.h) serves every allocation the detector makes
// on the context's stream while the plan runs: the first run fills it, later runs take
// their blocks from it, and the blocks a captured graph was recorded with stay reserved
// for that graph. Plans are keyed by everything a graph bakes in: the input size, the
// context's stream and precision, the conv backend, whether graphs are on.
#pragma once
#include <cstdint>
#include <tuple>

#include "engine/allocator.h"
#include "engine/cuda_graph.h"
#include "engine/math_mode.h"
#include "engine/tensor.h"
#include "layers/conv2d_layer.h"

namespace frcnn {

struct DetectPlanKey {
  int64_t height = 0, width = 0;
  uint64_t stream_id = 0;
  MathMode math = MathMode::Fp32;
  ConvBackend backend = ConvBackend::Own;
  bool graphs = true;
  bool operator<(const DetectPlanKey& o) const {
    return std::tie(height, width, stream_id, math, backend, graphs) <
           std::tie(o.height, o.width, o.stream_id, o.math, o.backend, o.graphs);
  }
};

struct DetectPlan {
  DetectPlan(const Device& dev, Stream s, const DetectPlanKey& key);

  DetectPlanKey key;
  int64_t det_capacity = 0;   // rows of the packed detections (nms.h), known after the first run
  MemoryPool pool;            // first: destroyed after everything allocated from it
  Tensor input;               // (1, 3, H, W): the image is copied here
  Tensor params;              // (2) F32: scale, 1 / scale (read by the kernels)
  PinnedBuffer host_params;   // the same two floats, on the host side of the copy
  PinnedBuffer host_result;   // the packed detections (nms.h), copied back each run (first run allocates)
  CudaEvent phase[4];         // before conv, after conv, after proposals, after the copy out
  CudaGraph graph;            // captured on the second run when graphs are on
  bool capture_failed = false;  // the capture was refused: this plan runs eagerly
  int64_t runs = 0;           // detect() calls served
  uint64_t last_use = 0;      // for evicting the least recently used plan
};

}  // namespace frcnn
