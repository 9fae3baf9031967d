#include "data/async_upload.h"

namespace frcnn {

AsyncUploader::AsyncUploader(const Context& ctx) : device_(ctx.device()) {
  if (device_.is_cuda()) stream_ = std::make_unique<CudaStream>();
}

AsyncUploader::Upload AsyncUploader::start(const Tensor& host, std::shared_ptr<HostBlock> staged) {
  Upload u;
  if (!stream_) {
    u.image = host;
    return u;
  }
  const Stream s = stream_->get();
  u.image = upload_to(host, staged.get(), device_, s);
  u.done = std::make_unique<CudaEvent>();
  u.done->record(s);
  u.staged = std::move(staged);
  return u;
}

const Tensor& AsyncUploader::ready(const Upload& u, Context& ctx) {
  if (u.done) u.done->make_wait(ctx.stream());
  return u.image;
}

}  // namespace frcnn
