#pragma once
/// @file safetensors.hpp
/// @brief The safetensors format: an 8-byte little-endian header length N, N bytes of
/// JSON header ({name: {dtype, shape, data_offsets}}, optional "__metadata__" of
/// string -> string), then the byte buffer the offsets index.
///
/// Reading is strict, as the format's reference implementation is: the header must
/// lie inside the file, be a JSON object starting with '{' with unique keys, every
/// dtype must be known, every byte range must match its shape and dtype and lie in
/// the buffer, ranges must not overlap and must cover the buffer without holes.
/// Every error names the file and, where there is one, the tensor.

#include "scextract/core/tensor.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace scx {

/// The free-text "__metadata__" of a safetensors header (string -> string).
using SafetensorsMetadata = std::map<std::string, std::string>;

/// The contents of a safetensors file.
struct SafetensorsFile {
    TensorMap tensors;            ///< in header order; all share one storage when aligned
    SafetensorsMetadata metadata; ///< "__metadata__", empty when absent
};

/// The format's name for a dtype: "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL".
const char* safetensors_dtype_name(TensorDType t);

/// Reads and validates a whole safetensors file. Throws scx::Error naming @p path
/// (and the tensor) on any malformed header, unsupported dtype or bad offsets.
SafetensorsFile read_safetensors(const std::string& path);

/// Reads only the header of a safetensors file (shapes, dtypes, metadata), validated
/// as read_safetensors() does; the returned tensors have no storage.
SafetensorsFile read_safetensors_header(const std::string& path);

/// Writes @p tensors as a safetensors file at @p path, atomically (a failed write leaves
/// no file). Strided views are materialised as contiguous row-major data in their
/// own dtype; the header is padded with spaces to a multiple of 8 bytes and data are
/// laid out by decreasing element size, so every tensor is aligned to its element size.
/// The header lists tensors in the order given. Throws scx::Error naming @p path on
/// duplicate names, a tensor named "__metadata__", a view outside its storage, or an I/O failure.
void write_safetensors(const std::string& path, const TensorMap& tensors, const SafetensorsMetadata& metadata = {});

/// The elements of @p t in row-major order as little-endian bytes of its own dtype
/// (strided views copied out). Throws scx::Error naming @p what when the view
/// reaches outside its storage.
std::vector<std::byte> tensor_contiguous_bytes(const Tensor& t, const std::string& what);

} // namespace scx
