#pragma once
/// @file little_endian.hpp
/// @brief Unsigned integers stored little-endian in a file (HDF5, .npy, safetensors, pickle),
/// decoded byte by byte so the host's byte order and alignment never matter.

#include <cstddef>
#include <cstdint>

namespace scx {

/// The unsigned integer in the @p n bytes (at most 8) at @p p, least significant first.
/// @p Byte is any byte type (unsigned char, std::byte, char read as unsigned).
template <class Byte>
std::uint64_t load_le(const Byte* p, std::size_t n) {
    static_assert(sizeof(Byte) == 1);
    std::uint64_t v = 0;
    for (std::size_t i = n; i-- > 0;) v = (v << 8) | static_cast<std::uint8_t>(p[i]);
    return v;
}

} // namespace scx
