#pragma once
/// @file in_silico_perturbation.hpp
/// @brief In-silico perturbation through the extracted operator, with no model: set some
/// panel genes' expression (or scale one operator factor) before the operator, run the frozen
/// standardiser, adaptor and readouts, and compare every cell's depth, branch and stage
/// probabilities with the unperturbed ones. A null of random gene sets of the same size and
/// expression level (or of every other factor) says whether the shift is more than any
/// perturbation of that size would give.

#include "scextract/core/algorithm.hpp"
#include "scextract/core/dense.hpp"
#include "scextract/core/progress.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

enum class PerturbationMode {
    knockout,    ///< genes set to 0; a factor's contribution removed
    overexpress  ///< genes set to their highest value among the cells; a factor's contribution doubled
};

/// Parses "knockout" / "overexpress" (UsageError otherwise).
PerturbationMode parse_perturbation_mode(const std::string& text);
const char* perturbation_mode_name(PerturbationMode m);

struct PerturbationOptions {
    PerturbationMode mode = PerturbationMode::knockout;
    std::vector<std::string> genes;   ///< panel genes to perturb (absent ones are left out; none present is an error)
    std::int64_t factor = -1;         ///< or: this factor of a single-block operator (operator_factors.hpp)
    std::int64_t null_sets = 200;     ///< random gene sets of the null (every other factor for a factor)
    std::int64_t expression_bins = 10; ///< genes are matched by mean expression within quantile bins
    double fdr = 0.05;
    std::uint64_t seed = 42;
    int threads = 0;
    ProgressCallback progress;        ///< (perturbations done, total); may be empty
};

/// The mean shift of one output over the cells, against the null's shifts.
struct PerturbationShift {
    std::string output;       ///< "depth", "branch:NAME" or "stage:NAME"
    double shift = 0;         ///< mean over cells of perturbed - original
    double null_mean = 0, null_sd = 0;
    double z = 0;             ///< (shift - null mean) / null sd: how far beyond the null, for ranking
    double p = 1, q = 1;      ///< two-sided empirical rank p (floor 2 / (1 + null_sets)), BH over outputs
    std::string direction;    ///< "toward", "away" or "" when q >= fdr (depth: "deeper" / "shallower")
};

struct PerturbationResult {
    std::vector<std::string> genes;              ///< the perturbed panel genes (empty for a factor)
    std::vector<std::string> missing_genes;      ///< genes asked for that are not in the panel (left out)
    std::vector<double> set_values;              ///< overexpress: the value each gene was set to
    Eigen::VectorXd depth, depth_shift;          ///< per cell; empty without a depth readout
    std::vector<std::string> branch_classes, stage_classes;
    RowMatrixF branch_shift, stage_shift;        ///< cells x classes: perturbed - original probability
    std::vector<PerturbationShift> summary;      ///< depth, then branches, then stages
    std::int64_t null_sets = 0;                  ///< perturbations in the null
};

/// Perturbs the cells of @p x (cells x G, the algorithm's panel expression) through
/// @p algorithm. Genes off the panel are left out (listed in missing_genes). Throws
/// scx::Error when no gene is in the panel, when neither
/// or both of genes and factor are given, or when a factor is asked of a multi-block operator.
PerturbationResult perturb_cells(const Algorithm& algorithm, const RowMatrixF& x, const PerturbationOptions& options);

} // namespace scx
