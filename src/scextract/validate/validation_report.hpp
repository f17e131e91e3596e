#pragma once
/// @file validation_report.hpp
/// @brief A validation's results as the `scextract-validation` JSON (docs/formats.md) and
/// as the text table `validate` prints: one row per metric, one column per run (the data
/// and each control).

#include "scextract/validate/geometry_validation.hpp"
#include "scextract/validate/manifold_validation.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace scx {

/// One run of the validation: the table's heading, the key under "results", the result
/// (none when the control was skipped).
struct ValidationRun {
    std::string column, key;
    std::optional<ManifoldValidationResult> result;
};

/// One result as JSON; non-finite numbers become null.
nlohmann::ordered_json validation_result_json(const ManifoldValidationResult& result);

/// The text table: metrics down, runs across, then the verdicts.
std::string validation_summary_table(const std::vector<ValidationRun>& runs);

/// One run of the Isomap / geodesic-MDS validation (same roles as ValidationRun).
struct GeometryRun {
    std::string column, key;
    std::optional<GeometryValidationResult> result;
};

/// One geometry result as JSON (the sweep, the chosen configuration, the PCA margin, the gates
/// and the permutation test, in the same shapes as validation_result_json()).
nlohmann::ordered_json geometry_result_json(const GeometryValidationResult& result);

/// The geometry runs as a text table, like validation_summary_table().
std::string geometry_summary_table(const std::vector<GeometryRun>& runs);

} // namespace scx
