#pragma once
// Byte-level access to scx containers for the tests that corrupt them on purpose.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

namespace scx::test {

namespace fs = std::filesystem;

inline std::vector<char> read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_all(const fs::path& p, const std::vector<char>& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::uint64_t u64_at(const std::vector<char>& b, std::size_t pos) {
    std::uint64_t v;
    std::memcpy(&v, b.data() + pos, 8);
    return v;
}

/// Recomputes the header CRC after an edit of the preamble or header (to reach the checks behind it).
inline void fix_header_crc(std::vector<char>& b) {
    const std::uint64_t h = u64_at(b, 16);
    const auto crc = static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(b.data()), static_cast<uInt>(24 + h)));
    std::memcpy(b.data() + 24 + h, &crc, 4);
}

/// Rewrites the header JSON (padded to the same length) and fixes its CRC.
inline void edit_header(const fs::path& path, const std::function<void(nlohmann::ordered_json&)>& edit) {
    auto b = read_all(path);
    const std::uint64_t h = u64_at(b, 16);
    auto j = nlohmann::ordered_json::parse(std::string(b.data() + 24, h));
    edit(j);
    std::string text = j.dump();
    ASSERT_LE(text.size(), h);
    text.resize(h, ' ');
    std::memcpy(b.data() + 24, text.data(), h);
    fix_header_crc(b);
    write_all(path, b);
}

} // namespace scx::test
