// Host images to the device on a stream of their own, so that the copy of the next image
// overlaps the detector's work on the current one (`frcnn detect`, evaluation):
//
//   AsyncUploader up(ctx);
//   AsyncUploader::Upload next = up.start(sample.image, sample.staged);  // queued, no wait
//   ... detect the current image on ctx.stream() ...
//   model.detect(ctx, up.ready(next, ctx), scale);   // ctx's stream waits for the copy (on the device)
//
// On a CUDA context the copy goes from the page-locked staging block when there is one (an
// asynchronous DMA; data/pinned.h keeps the block from reuse until the copy is done), else
// from the tensor itself; an event recorded after it gates ctx's stream. On a CPU context
// the image is the host tensor itself and nothing waits.
#pragma once
#include <memory>

#include "data/pinned.h"
#include "engine/context.h"
#include "engine/cuda_graph.h"
#include "engine/stream.h"
#include "engine/tensor.h"

namespace frcnn {

class AsyncUploader {
 public:
  struct Upload {
    Tensor image;                        // on the context's device
    std::unique_ptr<CudaEvent> done;     // CUDA: recorded after the copy
    std::shared_ptr<HostBlock> staged;   // kept until the image is used
  };

  explicit AsyncUploader(const Context& ctx);
  AsyncUploader(const AsyncUploader&) = delete;
  AsyncUploader& operator=(const AsyncUploader&) = delete;

  // Queues the copy of `host` (F32, CPU; `staged` its page-locked copy or null).
  Upload start(const Tensor& host, std::shared_ptr<HostBlock> staged);
  // The uploaded image, with ctx's stream made to wait for the copy.
  static const Tensor& ready(const Upload& u, Context& ctx);

 private:
  Device device_;
  std::unique_ptr<CudaStream> stream_;  // CUDA only
};

}  // namespace frcnn
