#pragma once
/// @file endpoints.hpp
/// @brief The benchmark endpoints (METHOD.md, "Benchmark protocol"): branch and stage
/// balanced accuracy and macro-F1, AUROC and balanced accuracy of each binary task, and
/// pseudotime-depth ordering |Spearman|, each computed per held-out donor on that donor's
/// test cells only; a split's score is the mean over its held-out donors.
///
/// An endpoint whose labels are absent (no labelled cell of a donor, a binary task with one
/// class in a donor, a method without that output) is not applicable: NaN here, null in
/// results.json, "n/a" in the report - never zero.

#include "scextract/bench/bench_cells.hpp"
#include "scextract/bench/bench_method.hpp"
#include "scextract/stats/donor_splits.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace scx {

/// One endpoint.
struct Endpoint {
    std::string name;  ///< e.g. "branch_balanced_accuracy", "cd4_cd8_auroc", "depth_spearman"
    std::string label; ///< for tables, e.g. "Branch balanced accuracy"
    bool higher_is_better = true;
};

/// Every endpoint the cells support: branch and stage (balanced accuracy, macro-F1), per
/// binary task (AUROC, balanced accuracy), then depth_spearman.
std::vector<Endpoint> available_endpoints(const BenchCells& cells);

/// The endpoints named in @p names (in that order), from available_endpoints(); empty
/// @p names selects them all. Throws scx::Error naming an unknown endpoint and listing the
/// available ones.
std::vector<Endpoint> select_endpoints(const BenchCells& cells, const std::vector<std::string>& names);

struct EndpointOptions {
    /// A donor needs at least this many labelled test cells for a classification or
    /// ordering endpoint (and both classes for a binary one).
    std::int64_t min_donor_cells = 5;
};

/// Scores of one method on one split.
struct SplitScores {
    std::vector<double> split_value;               ///< per endpoint: mean over donors with a value, NaN if none
    std::vector<std::int64_t> donors;              ///< held-out donor codes (the split's test donors)
    std::vector<std::vector<double>> donor_value;  ///< [endpoint][donor]: NaN when not applicable
};

/// Scores @p prediction (rows = split.test in order) on the split's held-out donors.
SplitScores score_split(const BenchCells& cells, const DonorSplit& split, const MethodPrediction& prediction,
                        const std::vector<Endpoint>& endpoints, const EndpointOptions& options = {});

} // namespace scx
