// The "autograd-lite" layer interface.
//
// Gradient rule (the whole engine follows it):
//   - forward(ctx, x) computes the output and, in training mode, saves what backward
//     needs (inputs, argmax switches, ...).
//   - backward(ctx, grad_out) returns dL/dx for the LAST forward call and ACCUMULATES
//     (+=) parameter gradients into Param::grad; call zero_grad() before each step.
//   - A layer with propagate_down = false may skip dL/dx and return an undefined
//     Tensor (conv1_1: nobody needs the image gradient).
//   - Where one activation feeds two consumers (conv5_3 -> RPN and RoI head), the
//     caller adds the two returned gradients (add_into) before backpropagating further.
// Parameters are named like torch state dicts ("conv1_1.weight" (out, in, kh, kw),
// "conv1_1.bias" (out), "fc6.weight" (out, in)), which is how save/load find them.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/context.h"
#include "engine/math_mode.h"
#include "engine/tensor.h"

namespace frcnn {

// A parameter's value as a reduced-precision GEMM reads it (layers/param_lowp.h), with
// what it was made from; refreshed when any of that changes.
struct LowpCopy {
  Tensor value;                    // BF16 on CUDA, rounded F32 on the CPU; undefined: none yet
  uint64_t version = 0;            // the Param::version it was made at
  MathMode mode = MathMode::Fp32;  // the precision it was rounded to
  const void* source = nullptr;    // the Param::value buffer it was made from
  uint64_t stream_id = 0;          // the stream it was written on (Stream::id)
};

struct Param {
  std::string name;    // "conv1_1.weight"
  Tensor value, grad;  // same shape and device; grad accumulates
  float lr_mult = 1.f;     // Caffe's per-blob learning-rate multiplier (biases: 2)
  float decay_mult = 1.f;  // weight-decay multiplier (biases: 0)
  bool frozen = false;     // the solver leaves it untouched (and backward may skip its grad)
  // Counts the writes of value: whatever writes it (the solver's step, load_params, the
  // model's loads and init, to()) calls touch(), so that the low-precision copy made at an
  // older version is remade before its next use. Code that writes value by hand must too.
  uint64_t version = 0;
  void touch() { ++version; }
  LowpCopy lowp{};
};

class Layer {
 public:
  explicit Layer(std::string name) : name_(std::move(name)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  virtual Tensor forward(Context& ctx, const Tensor& x) = 0;
  virtual Tensor backward(Context& ctx, const Tensor& grad_out) = 0;
  virtual std::vector<Param*> params() { return {}; }
  // Moves parameters and their gradients to ctx.device() (saved activations are dropped).
  virtual void to(Context& ctx);

  virtual void set_training(bool t) { training_ = t; }
  bool training() const { return training_; }
  virtual void set_propagate_down(bool p) { propagate_down_ = p; }
  bool propagate_down() const { return propagate_down_; }
  // Freezes / unfreezes every parameter of the layer.
  void set_frozen(bool f);
  const std::string& name() const { return name_; }

 protected:
  // Throws "<layer>: backward called without a saved forward (call forward in training mode first)".
  void require_saved(bool ok) const;

  std::string name_;
  bool training_ = true;
  bool propagate_down_ = true;
};

// A chain of layers; backward runs them in reverse. Names of the children are kept
// as given (parameters are not re-prefixed), so VGG's "conv1_1.weight" stays as is.
class Sequential : public Layer {
 public:
  explicit Sequential(std::string name = "sequential") : Layer(std::move(name)) {}
  Layer& add(std::unique_ptr<Layer> layer);
  template <class L, class... Args>
  L& emplace(Args&&... args) {
    return static_cast<L&>(add(std::make_unique<L>(std::forward<Args>(args)...)));
  }
  Tensor forward(Context& ctx, const Tensor& x) override;
  Tensor backward(Context& ctx, const Tensor& grad_out) override;
  std::vector<Param*> params() override;
  void to(Context& ctx) override;
  void set_training(bool t) override;
  // Applies to the FIRST layer only (it is the one that produces dL/dx of the chain);
  // the others always propagate.
  void set_propagate_down(bool p) override;
  size_t size() const { return layers_.size(); }
  Layer& at(size_t i) { return *layers_.at(i); }
  Layer* find(const std::string& name);  // nullptr when absent

 private:
  std::vector<std::unique_ptr<Layer>> layers_;
};

// Sets every param's grad to zero (allocating it when undefined).
void zero_grad(Context& ctx, const std::vector<Param*>& params);
// dst += src (same shape and device; CPU loop or CUDA kernel). dst undefined: dst = clone(src).
void add_into(Context& ctx, Tensor& dst, const Tensor& src);

// Saves {name: value} of every param (deduplicated by name; a duplicate name with a
// different tensor throws). metadata is written into the file's __metadata__.
void save_params(const std::string& path, const std::vector<Param*>& params,
                 const std::map<std::string, std::string>& metadata = {});
// Loads every param by name, checking shape and dtype; a param missing from the file
// throws (naming the file and the param) unless allow_missing, in which case the
// missing names are returned. Extra tensors in the file are ignored.
std::vector<std::string> load_params(Context& ctx, const std::string& path, const std::vector<Param*>& params,
                                     bool allow_missing = false);

}  // namespace frcnn
