#pragma once
// Whole files as bytes, for tests that damage a file written by the code under test.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>

namespace scx::test {

inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

inline void spit(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

/// The little-endian number of @p width bytes at @p at in @p bytes.
inline std::uint64_t le_at(const std::string& bytes, std::size_t at, int width) {
    std::uint64_t v = 0;
    for (int i = width - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
    return v;
}

/// Writes @p v as a little-endian number of @p width bytes at @p at in @p bytes.
inline void put_le(std::string& bytes, std::size_t at, std::uint64_t v, int width) {
    for (int i = 0; i < width; ++i) bytes[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
}

} // namespace scx::test
