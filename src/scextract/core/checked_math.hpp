#pragma once
/// @file checked_math.hpp
/// @brief Size arithmetic that refuses to overflow. Shapes, strides and offsets read from a
/// file can be anything, so every element count, byte count and offset made from them goes
/// through these instead of a bare * or +.

#include "scextract/core/error.hpp"

#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace scx {

/// int64 or uint64: the sizes and offsets of files and tensors.
template <class T>
concept SizeInteger = std::integral<T> && sizeof(T) == 8;

/// @p a * @p b, or nullopt when the product does not fit in T.
template <SizeInteger T> [[nodiscard]] constexpr std::optional<T> checked_mul(T a, T b) noexcept {
    T r;
    if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
    return r;
}

/// @p a + @p b, or nullopt when the sum does not fit in T.
template <SizeInteger T> [[nodiscard]] constexpr std::optional<T> checked_add(T a, T b) noexcept {
    T r;
    if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
    return r;
}

/// @p a * @p b. Throws scx::Error "<context>: size overflows 64 bits" when it does not fit.
template <SizeInteger T> T checked_mul(T a, T b, std::string_view context) {
    if (const auto r = checked_mul(a, b)) return *r;
    throw Error(std::string(context) + ": size overflows 64 bits");
}

/// @p a + @p b. Throws scx::Error "<context>: size overflows 64 bits" when it does not fit.
template <SizeInteger T> T checked_add(T a, T b, std::string_view context) {
    if (const auto r = checked_add(a, b)) return *r;
    throw Error(std::string(context) + ": size overflows 64 bits");
}

/// The bytes of an array of @p shape with @p element_size-byte elements, or nullopt when a
/// dimension is negative or the total exceeds INT64_MAX (so it is also a valid file offset).
[[nodiscard]] inline std::optional<std::uint64_t> checked_nbytes(std::span<const std::int64_t> shape,
                                                                 std::size_t element_size) {
    std::uint64_t n = element_size;
    for (const auto d : shape) {
        if (d < 0) return std::nullopt;
        const auto next = checked_mul(n, static_cast<std::uint64_t>(d));
        if (!next) return std::nullopt;
        n = *next;
    }
    if (n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return n;
}

} // namespace scx
