#pragma once
/// @file per_donor_pseudotime.hpp
/// @brief How the benchmark runs an unsupervised pseudotime (DPT, Palantir): on each held-out
/// donor's test cells alone, as a user would run the tool on one donor, from the shared
/// panel's log1p expression, rooted at the most progenitor-like cell by label.

#include "scextract/core/dense.hpp"
#include "scextract/bench/bench_cells.hpp"

#include <Eigen/Dense>

#include <cstdint>
#include <functional>
#include <span>

namespace scx {

/// The root rule. Among @p rows (one donor's cells) with a ruler stage, the cells at the
/// smallest ruler depth present are the most progenitor-like (HSCs where the donor has any,
/// else the earliest stage it has); the root is their medoid in @p expression (rows aligned
/// with @p rows): the cell with the smallest summed euclidean distance to the others, the
/// first such on ties. Returns an index into @p rows, or -1 when no row has a stage.
std::int64_t pseudotime_root_cell(const BenchCells& cells, std::span<const std::int64_t> rows, const RowMatrixF& expression);

/// A tool's pseudotime of one donor's cells: (their positions in the test rows, their log1p
/// panel expression, the root's row in it) -> one value per cell, +inf for cells the tool
/// cannot reach.
using DonorPseudotime = std::function<Eigen::VectorXd(std::span<const std::int64_t> positions, const RowMatrixF& expression,
                                                      std::int64_t root, int threads)>;

/// Runs @p tool on each donor's cells among @p test (in the order donors first appear) and
/// returns a pseudotime per test cell. Donors with fewer than @p min_cells cells, or with no
/// cell of a ruler stage, get NaN (their depth endpoint is then not applicable); +inf becomes
/// 2, after every reachable cell (pseudotimes are scaled to [0, 1]) and tied, as
/// scipy.stats.spearmanr ranks +inf.
Eigen::VectorXd per_donor_pseudotime(const BenchCells& cells, std::span<const std::int64_t> test, std::int64_t min_cells,
                                     const DonorPseudotime& tool, int threads);

} // namespace scx
