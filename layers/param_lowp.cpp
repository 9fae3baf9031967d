#include "layers/param_lowp.h"

#include "kernels/precision.h"

namespace frcnn {

const Tensor& lowp_value(Context& ctx, Param& p) {
  const MathMode m = ctx.math_mode();
  const bool cuda = ctx.is_cuda();
  if (m == MathMode::Fp32 || (cuda && m == MathMode::Tf32)) return p.value;
  LowpCopy& c = p.lowp;
  const DType dt = cuda ? DType::BF16 : DType::F32;
  const uint64_t sid = ctx.stream().id;
  // Reused in place only on the stream that wrote it: another stream may still read the
  // old bytes, so it gets a new buffer (the allocator frees the old one stream-ordered).
  const bool reusable = c.value.defined() && c.value.dtype() == dt && c.value.shape() == p.value.shape() &&
                        c.value.device() == p.value.device() && c.stream_id == sid;
  if (reusable && c.version == p.version && c.mode == m && c.source == p.value.raw_data()) return c.value;
  if (!reusable) c.value = Tensor::empty(p.value.shape(), dt, p.value.device(), ctx.stream());
  if (cuda)
    to_bf16_into(ctx, p.value, c.value);
  else
    round_to_precision_into(ctx, p.value, m, c.value);
  c.version = p.version;
  c.mode = m;
  c.source = p.value.raw_data();
  c.stream_id = sid;
  return c.value;
}

void refresh_lowp(Context& ctx, const std::vector<Param*>& ps) {
  for (Param* p : ps)
    if (p->lowp.value.defined()) lowp_value(ctx, *p);
}

}  // namespace frcnn
