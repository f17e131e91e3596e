#pragma once
/// @file bench_report_chain.hpp
/// @brief The compression chain of a benchmark (METHOD.md, "Compression and head
/// selection"): per method, in the file's (config) order, the size of the operator it
/// carries and how many classification endpoints it loses against the reference - the
/// pooled drift operator in the chain - with the depth ordering beside them. The paper's
/// table: single head 0/8 (5.9 MB), rank-64 5/8 (0.73 MB), rank-32 6/8, hard-sparse 7/8.
///
/// Nothing is re-tested here: losses are counted from the results' reference comparisons,
/// whose q-values are Benjamini-Hochberg corrected over every endpoint x method within a
/// unit (splits, donors), so the counts agree with the comparisons table and
/// comparisons.tsv.

#include "scextract/report/bench_results_reader.hpp"

#include <optional>
#include <string>
#include <vector>

namespace scx::report {

/// One method against the reference in one unit, over the classification endpoints (every
/// endpoint but depth_spearman), each list in the results' endpoint order.
struct ChainLosses {
    /// Endpoints with a tested comparison (a q-value): the denominator of "k of n". An
    /// endpoint without one (labels absent, or no comparison in the file) is left out.
    std::vector<std::string> tested;
    /// Tested endpoints where the reference is significantly better: q < Results::fdr and
    /// the reference's mean ahead (comparison_direction() "worse"). q equal to the
    /// threshold is not significant, as in the runner.
    std::vector<std::string> lost;
    /// Tested endpoints where the method is significantly better (the same rule, reversed).
    std::vector<std::string> gained;
};

/// One row of the chain table.
struct ChainRow {
    const Method* method = nullptr; ///< into the Results the row was made from
    bool is_reference = false;      ///< the reference row has no losses of its own
    ChainLosses splits, donors;     ///< over splits and over distinct held-out donors
    std::optional<double> depth_mean; ///< depth_spearman: mean over the splits with a value
    /// depth_spearman against the reference, when the file holds that comparison and it was tested.
    std::optional<double> depth_q_splits, depth_q_donors;
};

/// Every method of @p results in order, the reference included. Endpoints with
/// is_pseudotime_endpoint() are not classification endpoints; they feed the depth columns.
[[nodiscard]] std::vector<ChainRow> compression_chain_rows(const Results& results);

/// The same table as TSV (compression_chain.tsv): method, is_reference, stored_values,
/// size_mb, then per unit (splits, donors) endpoints, losses, lost, gains; then
/// depth_spearman_mean, depth_q_splits, depth_q_donors. "NA" where a value does not exist;
/// lost lists endpoint names separated by commas (empty when none). Same results, same bytes.
[[nodiscard]] std::string compression_chain_tsv(const Results& results);

} // namespace scx::report
