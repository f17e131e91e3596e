#pragma once
/// @file shuffle.hpp
/// @brief Fisher-Yates shuffle driven by scx::Rng, so seeded shuffles are the same on every
/// platform (std::shuffle's draws are implementation-defined).

#include "scextract/core/random.hpp"

#include <cstddef>
#include <utility>
#include <vector>

namespace scx {

/// Shuffles @p v in place: for i = n-1 .. 1, swap v[i] with v[rng.below(i + 1)].
template <typename T>
void shuffle_in_place(std::vector<T>& v, Rng& rng) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

} // namespace scx
