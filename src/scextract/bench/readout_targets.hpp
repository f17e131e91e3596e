#pragma once
/// @file readout_targets.hpp
/// @brief The supervised targets every readout set of the benchmark trains on (the linear
/// readouts of the light baselines, the MLP probe): the training cells with a ruler stage,
/// their depth, stage and branch, and the binary-task labels with the rule that decides
/// which binary tasks are trained.

#include "scextract/bench/bench_cells.hpp"

#include <Eigen/Dense>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace scx {

/// One binary task's labels on the kept rows.
struct BinaryTarget {
    std::vector<std::int64_t> label; ///< per kept row: 0, 1, or -1 (not in the task)
    bool trained = false;            ///< each side has at least min_binary_cells rows
};

/// Targets of the rows of a split that have a ruler stage.
struct ReadoutTargets {
    std::vector<Eigen::Index> keep;   ///< positions (into the rows given) of the cells with a stage
    Eigen::VectorXd depth;            ///< ruler depth per kept row
    std::vector<std::int64_t> stage;  ///< ruler stage index per kept row
    std::vector<std::int64_t> branch; ///< ruler branch index per kept row (-1: none)
    std::vector<BinaryTarget> binary; ///< per BenchCells::binary_tasks entry, same order
    std::vector<std::string> skipped; ///< binary tasks not trained, each with the reason
};

/// Collects the targets of @p rows (cell indices). A binary task is trained when each side
/// has at least max(1, @p min_binary_cells) kept rows. Throws scx::Error for a row out of
/// range, cells without a ruler, or fewer than two rows with a stage.
ReadoutTargets readout_targets(const BenchCells& cells, std::span<const std::int64_t> rows, std::int64_t min_binary_cells);

/// @p latent with every row that holds a NaN or infinity set to zero: cells a method could
/// not place (no counts, no vocabulary gene) sit at the origin for the readouts.
RowMatrixF zero_nonfinite_rows(RowMatrixF latent);

/// Distinct labels >= 0 of @p y, sorted: readout class c is label codes[c].
std::vector<std::int64_t> present_codes(const std::vector<std::int64_t>& y);

} // namespace scx
