#pragma once
/// @file min_attainable_p.hpp
/// @brief The smallest p-value the bench's paired test can give with n units, so the report
/// can say when no comparison can be significant however large the difference.

#include <cstdint>

namespace scx::report {

/// The smallest two-sided p of stats/statistics.hpp's wilcoxon_signed_rank (automatic
/// method, as the bench calls it) on @p n non-zero paired differences: up to 50 pairs the
/// exact or exhaustive permutation null, where all n differences of one sign give
/// 2 / 2^n; beyond 50 the normal approximation without continuity correction at the
/// largest statistic, erfc(z / sqrt 2) with z = sqrt(3 n (n + 1) / (2 (2 n + 1))).
/// 1 for n <= 1.
[[nodiscard]] double min_attainable_wilcoxon_p(std::int64_t n);

} // namespace scx::report
