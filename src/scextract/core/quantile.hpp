#pragma once
/// @file quantile.hpp
/// @brief Order statistics of plain vectors: numpy.quantile's default (linear) and the median.

#include "scextract/core/error.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace scx {

/// The value at fraction @p q (clamped to [0, 1]) of ascending @p sorted, linear between
/// neighbours (numpy.quantile's default). Throws scx::Error when @p sorted is empty.
inline double sorted_quantile(const std::vector<double>& sorted, double q) {
    if (sorted.empty()) throw Error("sorted_quantile: no values");
    const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(sorted.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const auto hi = std::min(lo + 1, sorted.size() - 1);
    return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

/// The median of @p values (mean of the two middle ones for an even count); NaN when empty.
inline double median(std::vector<double> values) {
    if (values.empty()) return std::nan("");
    std::sort(values.begin(), values.end());
    const auto m = values.size() / 2;
    return values.size() % 2 ? values[m] : 0.5 * (values[m - 1] + values[m]);
}

} // namespace scx
