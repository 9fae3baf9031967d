// Tensor: a contiguous, typed, shaped view into shared storage on one device.
//
// - Layout is always contiguous row-major (NCHW for images and activations), so a
//   raw pointer plus the shape is all a kernel needs.
// - Views share storage without copying: reshape() (any shape of the same numel,
//   one dim may be -1) and slice() (a range along dim 0). Copies are explicit:
//   to(device), clone(), copy_from().
// - Copies to the CPU are synchronous (the data is ready when they return); copies
//   to a GPU are queued on the given stream.
// - Shapes have at most kMaxDims dims; a 0-d tensor holds one element.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/allocator.h"
#include "engine/device.h"
#include "engine/dtype.h"
#include "engine/stream.h"

namespace frcnn {

using Shape = std::vector<int64_t>;
constexpr int kMaxDims = 6;

std::string shape_str(const Shape& s);  // "(2, 3, 4)"
int64_t shape_numel(const Shape& s);

// The memory behind one or more tensors.
struct Storage {
  Buffer buffer;
  explicit Storage(size_t bytes, const Device& d, Stream s) : buffer(bytes, d, s) {}
};

class Tensor {
 public:
  Tensor() = default;  // undefined: defined() is false

  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu(),
                      Stream stream = {});
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu(),
                      Stream stream = {});
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32, Device device = Device::cpu(),
                     Stream stream = {});
  // A CPU tensor holding `values` (values.size() must equal the shape's numel).
  template <class T>
  static Tensor from_vector(const Shape& shape, const std::vector<T>& values);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t size(int dim) const;  // negative dims count from the end
  int64_t numel() const { return numel_; }
  DType dtype() const { return dtype_; }
  const Device& device() const { return device_; }
  bool is_cuda() const { return device_.is_cuda(); }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }

  // Typed pointer; throws when T does not match dtype().
  template <class T>
  T* data() const {
    check_dtype(dtype_of<T>(), "data<T>()");
    return static_cast<T*>(raw_data());
  }
  void* raw_data() const;

  // Views (share storage).
  Tensor reshape(const Shape& shape) const;
  Tensor slice(int64_t begin, int64_t end) const;  // rows [begin, end) of dim 0
  bool shares_storage_with(const Tensor& o) const { return storage_ && storage_ == o.storage_; }

  // Copies.
  Tensor to(const Device& device, Stream stream = {}) const;  // same device: returns *this
  Tensor clone(Stream stream = {}) const;
  void copy_from(const Tensor& src, Stream stream = {});  // same numel and dtype; any devices

  void fill_(double value, Stream stream = {});
  void zero_(Stream stream = {});

  // Host copy of the elements (synchronous).
  template <class T>
  std::vector<T> to_vector() const;
  // The single element of a 1-element tensor, as double.
  double item() const;

  // Throws std::invalid_argument "<what>: expected shape ..., got ..." on mismatch.
  void check_shape(const Shape& expected, const std::string& what) const;
  void check_dtype(DType expected, const std::string& what) const;

 private:
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;  // bytes from the start of the storage
  Shape shape_;
  int64_t numel_ = 0;
  DType dtype_ = DType::F32;
  Device device_;
};

// Raw copy between any two devices (used by Tensor, the loaders and the tests).
void copy_bytes(void* dst, const Device& dst_dev, const void* src, const Device& src_dev, size_t bytes,
                Stream stream);

template <class T>
Tensor Tensor::from_vector(const Shape& shape, const std::vector<T>& values) {
  Tensor t = empty(shape, dtype_of<T>(), Device::cpu());
  if (static_cast<int64_t>(values.size()) != t.numel())
    throw std::invalid_argument("Tensor::from_vector: " + std::to_string(values.size()) + " values for shape " +
                                shape_str(shape));
  std::copy(values.begin(), values.end(), t.data<T>());
  return t;
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  check_dtype(dtype_of<T>(), "to_vector<T>()");
  std::vector<T> out(static_cast<size_t>(numel_));
  if (numel_ > 0) copy_bytes(out.data(), Device::cpu(), raw_data(), device_, nbytes(), Stream{});
  return out;
}

}  // namespace frcnn
