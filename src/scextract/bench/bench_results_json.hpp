#pragma once
/// @file bench_results_json.hpp
/// @brief A BenchResult as results.json (format "scextract-bench-results" version 1,
/// docs/formats.md) and as per-split TSV tables.

#include "scextract/bench/bench_cells.hpp"
#include "scextract/bench/bench_runner.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace scx {

/// What results.json records about where the cells came from.
struct BenchProvenance {
    std::string scextract_version;
    std::string command;                 ///< the command line
    nlohmann::ordered_json config;       ///< the config as given
    std::string data_path;               ///< or a description of simulated data
    std::string label_key, donor_key;
    std::optional<std::string> tissue_key;
    std::string input_kind = "counts";   ///< what the matrix held: counts or lognorm
    /// Empty with two or more donors; otherwise why cell folds stand in for donors
    /// (stats/cell_folds.hpp), shown on the report.
    std::string split_unit_note;
    /// Labels that map to no ruler stage, with their cell counts: left out of every endpoint.
    std::vector<std::pair<std::string, std::int64_t>> unmapped_labels;
};

/// results.json; not-applicable values are null.
nlohmann::ordered_json bench_results_json(const BenchResult& result, const BenchCells& cells, const BenchProvenance& provenance);

/// One row per method x split: split, method, pseudotime class, seconds, then one column per
/// endpoint ("NA" where not applicable).
std::string bench_split_scores_tsv(const BenchResult& result);

/// One row per method x distinct test donor: donor, method, then one column per endpoint.
std::string bench_donor_scores_tsv(const BenchResult& result, const BenchCells& cells);

/// One row per comparison (reference, method, endpoint, unit, n, means, median difference,
/// statistic, p, q, test, significant).
std::string bench_comparisons_tsv(const BenchResult& result);

} // namespace scx
