#pragma once
/// @file linear_readout_set.hpp
/// @brief The Stage-3 linear readouts fitted on any method's latent, so every latent-based
/// baseline (raw panel, PCA-10, SVD-10, ...) is scored through the same readouts as the
/// extracted algorithm: a ridge depth readout (the supervised pseudotime), softmax over the
/// ruler stages present, softmax over the branches present, and one binary logistic per
/// BenchCells::binary_tasks entry.
///
/// Only training cells whose label maps to a ruler stage are used. By default the latent is
/// standardised with the training cells' mean and sd first: the penalties (ridge alpha = 1,
/// logistic C = 1, as in readout/readouts.hpp and fit_algorithm) then act on the same scale
/// for every latent, so no baseline wins or loses by the units of its coordinates (PCA
/// scores span orders of magnitude, log1p expression does not). The extracted algorithm's
/// latent already comes from standardised features, so this is the like-for-like choice.

#include "scextract/core/dense.hpp"
#include "scextract/bench/bench_cells.hpp"
#include "scextract/bench/bench_method.hpp"
#include "scextract/readout/readouts.hpp"

#include <Eigen/Dense>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace scx {

/// Options of fit_linear_readout_set().
struct LinearReadoutSetOptions {
    /// Standardise each latent column with the training mean and sd (population; constant
    /// columns get sd 1) before fitting; see the file comment for why this is the default.
    bool standardize = true;
    RidgeOptions ridge;       ///< depth readout (sklearn Ridge(alpha=1) by default)
    LogisticOptions logistic; ///< softmax and binary readouts (sklearn LogisticRegression(C=1), lbfgs)
    /// A binary task is trained when each side has at least this many training cells;
    /// 10 = AlgorithmFitOptions::min_binary_cells, so baselines train the same tasks as the
    /// extracted algorithm.
    std::int64_t min_binary_cells = 10;
    int threads = 0; ///< overrides ridge.threads and logistic.threads
};

/// A softmax readout with the label code of each of its classes.
struct CodedSoftmaxReadout {
    SoftmaxReadout readout;
    std::vector<std::int64_t> codes; ///< readout class c = stage / branch index codes[c]
};

/// The fitted readouts; any part that could not be trained is empty.
struct LinearReadoutSet {
    Eigen::VectorXf mean, sd; ///< latent standardisation (empty: none)
    std::optional<LinearRegressionReadout> depth;
    std::optional<CodedSoftmaxReadout> stage;  ///< codes index ruler->stages
    std::optional<CodedSoftmaxReadout> branch; ///< codes index ruler->branches
    /// One per BenchCells::binary_tasks entry (same order); empty where not trained.
    std::vector<std::optional<BinaryReadout>> binary;
    std::vector<std::string> skipped; ///< readouts not trained, each with the reason

    /// Weights and intercepts of all readouts (the standardisation is not counted, as the
    /// extracted algorithm's standardiser is not).
    [[nodiscard]] std::int64_t parameter_count() const;

    /// Pseudotime (the depth readout), stage, branch and binary scores for the rows of
    /// @p latent; the latent itself is not copied into the result. Throws scx::Error when
    /// @p latent has another width than the training latent.
    [[nodiscard]] MethodPrediction predict(const RowMatrixF& latent) const;
};

/// The rows of @p rows whose cell has a ruler stage, in the same order.
std::vector<std::int64_t> mapped_rows(const BenchCells& cells, std::span<const std::int64_t> rows);

/// Fits the readouts on @p latent, whose row i is cell @p rows[i] of @p cells; rows whose
/// cell has no ruler stage are skipped. Targets: ruler depth, stage, branch and the binary
/// task labels of BenchCells. A classifier with fewer than two classes among the mapped
/// rows, and a binary task with fewer than min_binary_cells per side, is skipped (listed in
/// LinearReadoutSet::skipped). Throws scx::Error when @p latent and @p rows differ in size,
/// a row is out of range, or fewer than two rows have a stage.
LinearReadoutSet fit_linear_readout_set(const BenchCells& cells, std::span<const std::int64_t> rows,
                                        const RowMatrixF& latent, const LinearReadoutSetOptions& options = {});

} // namespace scx
