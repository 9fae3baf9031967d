// A weight in the precision a reduced-precision GEMM reads it, made once per change of the
// weight instead of once per call (the FP32 value stays the master copy the solver updates).
//
//   lowp_value(ctx, p)   bf16 on CUDA: a BF16 copy of p.value (the operand cublasGemmEx and
//                        cuDNN's bf16 convolution read); tf32 or bf16 on the CPU: p.value
//                        rounded as the tensor cores read it (F32); fp32 anywhere, tf32 on
//                        CUDA (the hardware rounds): p.value itself, no copy.
//                        The copy (p.lowp) is remade when p.version moved (every writer of
//                        a Param calls touch()), when the precision, p.value's buffer or
//                        ctx's stream changed; otherwise it is returned as is. It is
//                        rewritten in place while its shape and device hold, so a CUDA graph
//                        that captured its address sees the new values.
//   refresh_lowp(ctx, ps) remakes the stale copies among ps that exist: what a replayed CUDA
//                        graph cannot do itself (FasterRCNN::detect calls it before every run).
#pragma once
#include <vector>

#include "engine/context.h"
#include "layers/layer.h"

namespace frcnn {

const Tensor& lowp_value(Context& ctx, Param& p);
void refresh_lowp(Context& ctx, const std::vector<Param*>& ps);

}  // namespace frcnn
