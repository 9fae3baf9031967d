// Device checks shared by the dense-layer op dispatchers (relu, dropout, maxpool2d,
// conv2d, losses): every defined tensor must sit on the context's device, and a CUDA
// tensor in a build without CUDA is an error, never a silent CPU fallback.
#pragma once
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "engine/context.h"
#include "engine/tensor.h"

namespace frcnn::relu_util {

inline void check_device(const Context& ctx, std::initializer_list<const Tensor*> ts, const char* op) {
  for (const Tensor* t : ts) {
    if (!t->defined()) continue;
    if (t->device() != ctx.device())
      throw std::invalid_argument(std::string(op) + ": tensor on " + t->device().str() + " but the context is on " +
                                  ctx.device().str() + " (mixed devices)");
  }
#if !FRCNN_WITH_CUDA
  if (ctx.is_cuda()) throw std::runtime_error(std::string(op) + ": CUDA tensor, but frcnn was built without CUDA");
#endif
}

}  // namespace frcnn::relu_util
