#include "engine/dtype.h"

#include <stdexcept>

namespace frcnn {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::I32: return 4;
    case DType::U8: return 1;
    case DType::I64: return 8;
    case DType::F16: return 2;
    case DType::BF16: return 2;
  }
  throw std::logic_error("dtype_size: bad DType");
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::I32: return "I32";
    case DType::U8: return "U8";
    case DType::I64: return "I64";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
  }
  throw std::logic_error("dtype_name: bad DType");
}

DType dtype_from_name(const std::string& s) {
  for (DType t : {DType::F32, DType::I32, DType::U8, DType::I64, DType::F16, DType::BF16})
    if (s == dtype_name(t)) return t;
  throw std::invalid_argument("unknown dtype '" + s + "' (known: F32, I32, U8, I64, F16, BF16)");
}

}  // namespace frcnn
