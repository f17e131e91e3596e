#pragma once
/// @file sha256.hpp
/// @brief SHA-256 (FIPS 180-4) of byte strings and files: the checkpoint fingerprint
/// recorded in operator files, comparable with `sha256sum`.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace scx {

/// Incremental SHA-256.
class Sha256 {
public:
    Sha256();
    /// Feeds more bytes.
    void update(std::span<const std::byte> bytes);
    /// The digest of everything fed so far; the object must not be updated afterwards.
    std::array<std::uint8_t, 32> finish();

private:
    void block(const std::uint8_t* p);
    std::array<std::uint32_t, 8> h_;
    std::array<std::uint8_t, 64> buf_{};
    std::size_t buf_len_ = 0;
    std::uint64_t total_ = 0;
};

/// Lower-case hex SHA-256 of @p bytes.
std::string sha256_hex(std::span<const std::byte> bytes);

/// Lower-case hex SHA-256 of the file at @p path, read in blocks. Throws scx::Error naming the file.
std::string sha256_file_hex(const std::string& path);

} // namespace scx
