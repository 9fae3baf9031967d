// Helpers shared by every op dispatcher in kernels/: every op picks its device from its
// tensors (or checks them against its Context), never from a global. Mixed devices, and
// a CUDA tensor in a build without CUDA, are errors that name the op.
//
//   common_device(op, {&a, &b})       the tensors' common device (detection ops)
//   check_device(ctx, {&x, &w}, op)   every tensor on ctx's device (dense-layer ops)
//   require / require_boxes / desc    argument checks and their messages
#pragma once
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "engine/context.h"
#include "engine/tensor.h"

namespace frcnn::kernels_detail {

// The common device of the defined tensors in `ts` (undefined ones are skipped).
// Throws std::invalid_argument for mixed devices and std::runtime_error for a CUDA
// tensor in a build without CUDA.
inline Device common_device(const char* op, std::initializer_list<const Tensor*> ts) {
  bool have = false;
  Device dev = Device::cpu();
  for (const Tensor* t : ts) {
    if (!t || !t->defined()) continue;
    if (!have) {
      dev = t->device();
      have = true;
    } else if (t->device() != dev) {
      throw std::invalid_argument(std::string(op) + ": tensors on different devices (" + dev.str() + " and " +
                                  t->device().str() + ")");
    }
  }
#if !FRCNN_WITH_CUDA
  if (dev.is_cuda())
    throw std::runtime_error(std::string(op) + ": got a " + dev.str() + " tensor but this build has no CUDA backend");
#endif
  return dev;
}

// Every defined tensor in `ts` must sit on the context's device (the dense-layer ops
// allocate their outputs on ctx's device and launch on its stream, so a tensor elsewhere
// is an error, not a silent copy). Throws std::invalid_argument for a mismatch and
// std::runtime_error for a CUDA context in a build without CUDA. Returns ctx's device.
inline Device check_device(const Context& ctx, std::initializer_list<const Tensor*> ts, const char* op) {
  for (const Tensor* t : ts) {
    if (!t || !t->defined()) continue;
    if (t->device() != ctx.device())
      throw std::invalid_argument(std::string(op) + ": tensor on " + t->device().str() + " but the context is on " +
                                  ctx.device().str() + " (mixed devices)");
  }
#if !FRCNN_WITH_CUDA
  if (ctx.is_cuda())
    throw std::runtime_error(std::string(op) + ": got a " + ctx.device().str() +
                             " context but this build has no CUDA backend");
#endif
  return ctx.device();
}

// Throws "<op>: <what> must be <dtype> with shape <desc>, got ..." style errors.
inline void require_boxes(const char* op, const Tensor& t, const char* what) {
  if (!t.defined()) throw std::invalid_argument(std::string(op) + ": " + what + " is undefined");
  if (t.dtype() != DType::F32 || t.ndim() != 2 || t.size(1) != 4)
    throw std::invalid_argument(std::string(op) + ": " + what + " must be F32 (N, 4) boxes, got " +
                                dtype_name(t.dtype()) + " " + shape_str(t.shape()));
}

inline void require(bool ok, const char* op, const std::string& msg) {
  if (!ok) throw std::invalid_argument(std::string(op) + ": " + msg);
}

inline std::string desc(const Tensor& t) {
  return t.defined() ? std::string(dtype_name(t.dtype())) + " " + shape_str(t.shape()) : std::string("undefined");
}

}  // namespace frcnn::kernels_detail
