#pragma once
/// @file tensor.hpp
/// @brief A named n-dimensional tensor as checkpoints store it (PyTorch state
/// dicts, safetensors): dtype, shape, strides and an offset into a storage that
/// several tensors may share. Only io/ creates these; model/ converts them to fp32.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace scx {

/// Element types a state dict may hold.
enum class TensorDType { float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool_ };

/// "float32", "float16", ... (PyTorch's names without the torch. prefix).
const char* tensor_dtype_name(TensorDType t);
/// Bytes per element.
std::size_t tensor_dtype_size(TensorDType t);
/// True for the floating-point types.
bool tensor_dtype_is_float(TensorDType t);

/// One tensor: a strided view into a shared little-endian storage.
struct Tensor {
    TensorDType dtype = TensorDType::float32;
    std::vector<std::int64_t> shape;
    std::vector<std::int64_t> strides; ///< in elements; empty = contiguous row-major
    std::int64_t storage_offset = 0;   ///< in elements
    std::shared_ptr<const std::vector<std::byte>> storage;

    [[nodiscard]] std::int64_t numel() const;
    /// The elements in row-major order converted to float32 (float16 / bfloat16 /
    /// float64 converted; integer types refused). Throws scx::Error naming @p what
    /// when the view reaches outside its storage or the dtype is not floating point.
    [[nodiscard]] std::vector<float> to_float(const std::string& what) const;
    /// The same into @p out, which must hold numel() floats (no intermediate copy).
    void to_float_into(float* out, const std::string& what) const;
};

/// Tensors by name, in the order the file lists them.
using TensorMap = std::vector<std::pair<std::string, Tensor>>;

} // namespace scx
