// Element types a Tensor can hold. f16/bf16 are storage-only for now (no op computes
// in them yet); they exist so weights files and future kernels have a name for them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace frcnn {

enum class DType : uint8_t { F32, I32, U8, I64, F16, BF16 };

// Bytes per element.
size_t dtype_size(DType t);
// The safetensors spelling: "F32", "I32", "U8", "I64", "F16", "BF16".
const char* dtype_name(DType t);
// Inverse of dtype_name; throws std::invalid_argument naming `s` when unknown.
DType dtype_from_name(const std::string& s);

template <class T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::F32; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::I32; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::U8; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::I64; };
template <class T> constexpr DType dtype_of() { return DTypeOf<T>::value; }

}  // namespace frcnn
