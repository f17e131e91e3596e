#pragma once
/// @file cell_folds.hpp
/// @brief Stand-in donors for data without them: cells dealt into seeded folds, stratified by
/// label. Donor-holdout splits, anchors and donor-level statistics then run over folds, which
/// test held-out cells, not held-out people; every caller says so to the user.

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

/// Options of stratified_cell_folds().
struct CellFoldOptions {
    std::int64_t n_folds = 10; ///< folds (at least 2); fewer cells than folds leaves some empty
    std::uint64_t seed = 42;
};

/// Fold per cell (0 .. n_folds-1). Each label's cells, in a seeded shuffle, are dealt round
/// robin, each label continuing where the previous one stopped, so every fold holds each
/// label in proportion and fold sizes differ by at most one cell. Labels are taken in sorted
/// order, so the folds depend on the cells and the seed only.
std::vector<std::int64_t> stratified_cell_folds(const std::vector<std::string>& labels, const CellFoldOptions& options = {});

/// stratified_cell_folds() as donor names "fold01", "fold02", ... (zero-padded, so they sort
/// in fold order).
std::vector<std::string> cell_fold_donors(const std::vector<std::string>& labels, const CellFoldOptions& options = {});

/// Why folds stand in for donors, for terminals and reports: "no donor column" or "one donor
/// ('D1')", and what the statistics are then over.
std::string cell_fold_note(const std::string& why, const CellFoldOptions& options);

} // namespace scx
