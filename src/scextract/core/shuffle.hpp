#pragma once
/// @file shuffle.hpp
/// @brief Fisher-Yates shuffle driven by scx::Rng, so seeded shuffles are the same on every
/// platform (std::shuffle's draws are implementation-defined).

#include "scextract/core/random.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

namespace scx {

/// Shuffles @p v in place: for i = n-1 .. 1, swap v[i] with v[rng.below(i + 1)].
template <typename T>
void shuffle_in_place(std::vector<T>& v, Rng& rng) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

/// A seeded uniform sample of @p m of [0, n) (all when m >= n), ascending: the first m of a
/// partial Fisher-Yates. @p stream keeps the draws of different uses apart.
inline std::vector<std::int64_t> seeded_sample(std::int64_t n, std::int64_t m, std::uint64_t seed, std::uint64_t stream) {
    std::vector<std::int64_t> rows(static_cast<std::size_t>(std::max<std::int64_t>(n, 0)));
    std::iota(rows.begin(), rows.end(), 0);
    if (m >= n) return rows;
    Rng rng(seed, stream);
    for (std::int64_t i = 0; i < m; ++i)
        std::swap(rows[static_cast<std::size_t>(i)],
                  rows[static_cast<std::size_t>(i + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n - i))))]);
    rows.resize(static_cast<std::size_t>(m));
    std::sort(rows.begin(), rows.end());
    return rows;
}

} // namespace scx
