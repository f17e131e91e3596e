#pragma once
/// @file npy.hpp
/// @brief NumPy .npy files: read float32 / float64 / int32 / int64 arrays, write float32 (and int64).
///
/// Only C-order, little-endian arrays of those four dtypes are read (header
/// versions 1.0, 2.0 and 3.0); anything else is refused with a message naming
/// the file and what was found. Writing uses format version 1.0 with the header
/// padded so the data starts on a 64-byte boundary, as numpy.save does, and goes
/// through AtomicOutput so a failed write never leaves a partial file.

#include "scextract/core/dense.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace scx {

/// Element types scextract reads from .npy files.
enum class NpyDType { float32, float64, int32, int64 };

/// "float32", "float64", "int32", "int64".
const char* npy_dtype_name(NpyDType t);
/// Bytes per element.
std::size_t npy_dtype_size(NpyDType t);

/// One array as read from a .npy file.
struct NpyArray {
    std::string source;                ///< file name (or what the caller passed), used in messages
    NpyDType dtype = NpyDType::float32;
    std::vector<std::int64_t> shape;   ///< empty for a 0-d array
    std::vector<std::byte> data;       ///< numel() * element size bytes, C order, little-endian

    /// Product of the shape (1 for a 0-d array).
    [[nodiscard]] std::int64_t numel() const;
    /// The elements converted to float32 (int64 beyond 2^24 loses precision).
    [[nodiscard]] std::vector<float> to_float() const;
    /// The elements converted to float64.
    [[nodiscard]] std::vector<double> to_double() const;
    /// The elements as int64; float arrays are refused (throws scx::Error).
    [[nodiscard]] std::vector<std::int64_t> to_int64() const;
    /// A 2-D array as a float32 row-major matrix; other ranks are refused.
    [[nodiscard]] RowMatrixF to_matrix() const;
};

/// Parses a whole .npy file held in memory; @p what names it in error messages.
NpyArray parse_npy(std::span<const std::byte> bytes, const std::string& what);

/// Reads a .npy file. Throws scx::Error naming the file for I/O problems, a
/// malformed or truncated header, big-endian or Fortran-order data, an
/// unsupported dtype, or a data size that does not match the shape.
NpyArray read_npy(const std::filesystem::path& path);

/// Writes @p data (C order, product of @p shape elements) as a float32 .npy file.
void write_npy(const std::filesystem::path& path, const float* data, std::span<const std::int64_t> shape);
/// Writes @p data (C order) as an int64 .npy file.
void write_npy(const std::filesystem::path& path, const std::int64_t* data, std::span<const std::int64_t> shape);
/// Writes a row-major matrix as a 2-D float32 .npy file.
void write_npy(const std::filesystem::path& path, const RowMatrixF& matrix);

} // namespace scx
