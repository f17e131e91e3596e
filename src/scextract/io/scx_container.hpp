#pragma once
/// @file scx_container.hpp
/// @brief The one binary container of scextract's own files: the operator file (.scxop,
/// kind "operator") and the algorithm file (.scx, kind "algorithm").
///
/// Version 1 layout (all integers little-endian; docs/formats.md has the details and a
/// numpy-only reader):
///
///     offset 0        8 bytes   magic "SCXFILE\0"
///     offset 8        u32       format version (1)
///     offset 12       u32       reserved, 0
///     offset 16       u64       H: length of the JSON header in bytes (a multiple of 64)
///     offset 24       H bytes   UTF-8 JSON, padded with spaces:
///                               {"kind": ..., "metadata": {...}, "arrays": [{"name",
///                               "dtype", "shape", "offset", "nbytes", "crc32"}, ...]}
///     offset 24 + H   u32       CRC-32 (zlib) of bytes [0, 24 + H): preamble and header
///     then the arrays, each at an absolute file offset that is a multiple of 64 and at
///     least 64 + H, C order, little-endian, with the CRC-32 of its bytes in the header.
///
/// Arrays are read through a read-only memory mapping: a span into the file costs
/// nothing until its pages are touched, so one slice of a large array can be read
/// without loading the rest.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace scx {

/// Element types a container array may hold, with their numpy dtype strings.
enum class ContainerDType {
    float32, ///< "<f4"
    float64, ///< "<f8"
    int32,   ///< "<i4"
    int64,   ///< "<i8"
    uint8,   ///< "|u1"
};

/// The numpy dtype string of @p t ("<f4", "<f8", "<i4", "<i8", "|u1").
const char* container_dtype_str(ContainerDType t);
/// Bytes per element.
std::size_t container_dtype_size(ContainerDType t);

/// The magic bytes, version and alignment of the format.
inline constexpr char kScxMagic[8] = {'S', 'C', 'X', 'F', 'I', 'L', 'E', '\0'};
inline constexpr std::uint32_t kScxFormatVersion = 1;
inline constexpr std::uint64_t kScxAlignment = 64;

/// One array to write: caller-owned bytes given as one or more contiguous pieces that
/// are concatenated in order (so a [L, H, G, G] array can come from L * H separate
/// G x G matrices without a copy). The pieces must hold exactly product(shape) elements.
struct ContainerArrayView {
    std::string name;
    ContainerDType dtype = ContainerDType::float32;
    std::vector<std::int64_t> shape;
    std::vector<std::span<const std::byte>> pieces;

    /// A float32 array over @p data.
    static ContainerArrayView f32(std::string name, std::vector<std::int64_t> shape, std::span<const float> data);
    /// An int64 array over @p data.
    static ContainerArrayView i64(std::string name, std::vector<std::int64_t> shape, std::span<const std::int64_t> data);
    /// An int32 array over @p data.
    static ContainerArrayView i32(std::string name, std::vector<std::int64_t> shape, std::span<const std::int32_t> data);
    /// Appends one more piece of elements of this array's dtype.
    template <class T>
    ContainerArrayView& add_piece(std::span<const T> data) {
        pieces.push_back(std::as_bytes(data));
        return *this;
    }
};

/// Writes a container atomically (to a temporary beside @p path, renamed into place
/// when complete; a failure leaves no file). Arrays are laid out in the order given.
/// A null @p metadata is written as an empty object. Throws scx::Error naming @p path
/// on an empty kind, @p metadata that is neither an object nor null,
/// duplicate or empty array names, a negative dimension, pieces whose total size
/// differs from the shape, or an I/O failure.
void write_scx_container(const std::string& path, const std::string& kind, const nlohmann::ordered_json& metadata,
                         const std::vector<ContainerArrayView>& arrays);

/// One array as the header describes it.
struct ContainerArrayInfo {
    std::string name;
    ContainerDType dtype = ContainerDType::float32;
    std::vector<std::int64_t> shape;
    std::uint64_t offset = 0; ///< absolute file offset, a multiple of 64
    std::uint64_t nbytes = 0; ///< product(shape) * element size
    std::uint32_t crc32 = 0;  ///< zlib CRC-32 of the nbytes bytes

    /// Product of the shape (1 for a 0-d array).
    [[nodiscard]] std::int64_t numel() const;
};

/// How ScxContainer opens a file.
struct ScxOpenOptions {
    /// Check every array's CRC-32 on opening (reads the whole file once). Off: only the
    /// header's CRC is checked on opening; verify_array() checks one array on demand.
    bool verify_checksums = true;
    /// Refuse a container of another kind ("" accepts any).
    std::string expected_kind{};
};

/// A container opened read-only through a memory mapping. Everything is validated on
/// opening: magic, version, reserved field, header length and CRC, header JSON (kind,
/// metadata, arrays with known dtypes, shapes matching nbytes, aligned offsets inside
/// the file, no overlaps) and, by default, each array's CRC. Every error names the
/// file and what is wrong. Spans returned stay valid while the object lives.
class ScxContainer {
public:
    explicit ScxContainer(const std::string& path, const ScxOpenOptions& options = {});
    ~ScxContainer();
    ScxContainer(ScxContainer&& other) noexcept;
    ScxContainer& operator=(ScxContainer&& other) noexcept;
    ScxContainer(const ScxContainer&) = delete;
    ScxContainer& operator=(const ScxContainer&) = delete;

    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] std::uint32_t version() const { return version_; }
    [[nodiscard]] const std::string& kind() const { return kind_; }
    [[nodiscard]] const nlohmann::ordered_json& metadata() const { return metadata_; }
    /// The arrays in header order.
    [[nodiscard]] const std::vector<ContainerArrayInfo>& arrays() const { return arrays_; }
    [[nodiscard]] bool has_array(const std::string& name) const;
    /// The description of array @p name; throws scx::Error naming the file when absent.
    [[nodiscard]] const ContainerArrayInfo& info(const std::string& name) const;
    /// The raw bytes of array @p name.
    [[nodiscard]] std::span<const std::byte> bytes(const std::string& name) const;
    /// Array @p name as float32 elements (C order); throws when its dtype is another.
    [[nodiscard]] std::span<const float> array_f32(const std::string& name) const;
    /// Array @p name as int64 elements; throws when its dtype is another.
    [[nodiscard]] std::span<const std::int64_t> array_i64(const std::string& name) const;
    /// Array @p name as int32 elements; throws when its dtype is another.
    [[nodiscard]] std::span<const std::int32_t> array_i32(const std::string& name) const;
    /// Checks array @p name's CRC-32; throws scx::Error naming the file and the array on a mismatch.
    void verify_array(const std::string& name) const;
    /// File size in bytes.
    [[nodiscard]] std::uint64_t file_size() const { return size_; }

private:
    void close() noexcept;
    [[noreturn]] void fail(const std::string& what) const;

    std::string path_;
    const std::byte* map_ = nullptr;
    std::uint64_t size_ = 0;
    std::uint32_t version_ = 0;
    std::string kind_;
    nlohmann::ordered_json metadata_;
    std::vector<ContainerArrayInfo> arrays_;
};

} // namespace scx
