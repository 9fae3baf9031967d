#include "engine/tensor.h"

#include <algorithm>
#include <cstring>
#include <sstream>

#if FRCNN_WITH_CUDA
#include "engine/tensor_cuda.h"
#endif

namespace frcnn {

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << ")";
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

static void validate_shape(const Shape& s) {
  if (s.size() > static_cast<size_t>(kMaxDims))
    throw std::invalid_argument("tensor shape " + shape_str(s) + " has more than " + std::to_string(kMaxDims) +
                                " dims");
  for (int64_t d : s)
    if (d < 0) throw std::invalid_argument("tensor shape " + shape_str(s) + " has a negative dim");
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device, Stream stream) {
  validate_shape(shape);
  Tensor t;
  t.shape_ = shape;
  t.numel_ = shape_numel(shape);
  t.dtype_ = dtype;
  t.device_ = device;
  t.storage_ = std::make_shared<Storage>(t.nbytes(), device, stream);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device, Stream stream) {
  Tensor t = empty(shape, dtype, device, stream);
  t.zero_(stream);
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device, Stream stream) {
  Tensor t = empty(shape, dtype, device, stream);
  t.fill_(value, stream);
  return t;
}

int64_t Tensor::size(int dim) const {
  int d = dim < 0 ? dim + ndim() : dim;
  if (d < 0 || d >= ndim())
    throw std::out_of_range("Tensor::size(" + std::to_string(dim) + ") on shape " + shape_str(shape_));
  return shape_[d];
}

void* Tensor::raw_data() const {
  if (!storage_) throw std::logic_error("use of an undefined Tensor");
  return static_cast<char*>(storage_->buffer.data()) + offset_;
}

Tensor Tensor::reshape(const Shape& shape) const {
  Shape s = shape;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      if (infer >= 0) throw std::invalid_argument("reshape " + shape_str(shape) + ": more than one -1");
      infer = static_cast<int>(i);
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel_ % known != 0)
      throw std::invalid_argument("reshape " + shape_str(shape_) + " to " + shape_str(shape) + ": sizes do not fit");
    s[infer] = numel_ / known;
  }
  validate_shape(s);
  if (shape_numel(s) != numel_)
    throw std::invalid_argument("reshape " + shape_str(shape_) + " to " + shape_str(shape) + ": numel differs");
  Tensor t = *this;
  t.shape_ = s;
  return t;
}

Tensor Tensor::slice(int64_t begin, int64_t end) const {
  if (ndim() == 0) throw std::invalid_argument("slice of a 0-d tensor");
  if (begin < 0 || end < begin || end > shape_[0])
    throw std::out_of_range("slice [" + std::to_string(begin) + ", " + std::to_string(end) + ") of shape " +
                            shape_str(shape_));
  int64_t row = numel_ / std::max<int64_t>(shape_[0], 1);
  Tensor t = *this;
  t.shape_[0] = end - begin;
  t.numel_ = row * (end - begin);
  t.offset_ = offset_ + static_cast<size_t>(begin * row) * dtype_size(dtype_);
  return t;
}

Tensor Tensor::to(const Device& device, Stream stream) const {
  if (device == device_) return *this;
  Tensor t = empty(shape_, dtype_, device, stream);
  t.copy_from(*this, stream);
  return t;
}

Tensor Tensor::clone(Stream stream) const {
  Tensor t = empty(shape_, dtype_, device_, stream);
  t.copy_from(*this, stream);
  return t;
}

void Tensor::copy_from(const Tensor& src, Stream stream) {
  if (src.numel() != numel_ || src.dtype() != dtype_)
    throw std::invalid_argument("copy_from: source " + shape_str(src.shape()) + " " + dtype_name(src.dtype()) +
                                " into " + shape_str(shape_) + " " + dtype_name(dtype_));
  if (numel_ == 0) return;
  copy_bytes(raw_data(), device_, src.raw_data(), src.device(), nbytes(), stream);
}

template <class T>
static void fill_host(void* p, int64_t n, double v) {
  T* d = static_cast<T*>(p);
  std::fill(d, d + n, static_cast<T>(v));
}

void Tensor::fill_(double value, Stream stream) {
  if (numel_ == 0) return;
  if (device_.is_cuda()) {
#if FRCNN_WITH_CUDA
    fill_cuda(raw_data(), dtype_, numel_, value, stream);
    return;
#endif
  }
  switch (dtype_) {
    case DType::F32: fill_host<float>(raw_data(), numel_, value); break;
    case DType::I32: fill_host<int32_t>(raw_data(), numel_, value); break;
    case DType::U8: fill_host<uint8_t>(raw_data(), numel_, value); break;
    case DType::I64: fill_host<int64_t>(raw_data(), numel_, value); break;
    default:
      if (value != 0.0) throw std::invalid_argument(std::string("fill_: no fill for dtype ") + dtype_name(dtype_));
      std::memset(raw_data(), 0, nbytes());
  }
}

void Tensor::zero_(Stream stream) { fill_(0.0, stream); }

double Tensor::item() const {
  if (numel_ != 1) throw std::invalid_argument("item() on a tensor of shape " + shape_str(shape_));
  switch (dtype_) {
    case DType::F32: return to_vector<float>()[0];
    case DType::I32: return to_vector<int32_t>()[0];
    case DType::U8: return to_vector<uint8_t>()[0];
    case DType::I64: return static_cast<double>(to_vector<int64_t>()[0]);
    default: throw std::invalid_argument(std::string("item() on dtype ") + dtype_name(dtype_));
  }
}

void Tensor::check_shape(const Shape& expected, const std::string& what) const {
  if (shape_ != expected)
    throw std::invalid_argument(what + ": expected shape " + shape_str(expected) + ", got " + shape_str(shape_));
}

void Tensor::check_dtype(DType expected, const std::string& what) const {
  if (dtype_ != expected)
    throw std::invalid_argument(what + ": expected dtype " + dtype_name(expected) + ", got " + dtype_name(dtype_));
}

void copy_bytes(void* dst, const Device& dst_dev, const void* src, const Device& src_dev, size_t bytes,
                Stream stream) {
  if (bytes == 0) return;
  if (dst_dev.is_cpu() && src_dev.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
#if FRCNN_WITH_CUDA
  copy_bytes_cuda(dst, dst_dev, src, src_dev, bytes, stream);
#else
  throw std::runtime_error("copy to/from " + (dst_dev.is_cuda() ? dst_dev : src_dev).str() +
                           ": this frcnn was built without CUDA");
#endif
}

}  // namespace frcnn
