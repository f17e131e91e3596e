#pragma once
/// @file validation_report.hpp
/// @brief A validation's results as the `scextract-validation` JSON (docs/formats.md) and
/// as the text table `validate` prints: one row per metric, one column per run (the data
/// and each control).

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

} // namespace scx
