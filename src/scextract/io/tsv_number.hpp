#pragma once
/// @file tsv_number.hpp
/// @brief A number as a TSV field: round-trip precision, and "NA" (what R and pandas read as
/// missing) where there is no finite value - the convention of every TSV scextract writes.

#include <cmath>
#include <optional>
#include <string>

#include <fmt/format.h>

namespace scx {

/// @p v with 17 significant digits (reads back to the same double), or "NA" when not finite.
[[nodiscard]] inline std::string tsv_number(double v) { return std::isfinite(v) ? fmt::format("{:.17g}", v) : "NA"; }

/// The same, "NA" also for no value.
[[nodiscard]] inline std::string tsv_number(const std::optional<double>& v) { return v ? tsv_number(*v) : "NA"; }

} // namespace scx
