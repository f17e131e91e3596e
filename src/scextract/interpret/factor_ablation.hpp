#pragma once
/// @file factor_ablation.hpp
/// @brief Fixed-probe factor ablation (METHOD.md, "Interpretability"; the reconstruction's
/// Phase 11): the algorithm's standardiser, adaptor and readouts stay frozen while factors of
/// its operator are zeroed at inference, and every endpoint is scored again on held-out
/// donors. impact = sum over endpoints of max(0, intact - ablated); share = impact / sum of
/// impacts. The core (the top factors by impact) is then kept alone, and in every non-empty
/// subset.

#include "scextract/bench/bench_cells.hpp"
#include "scextract/bench/endpoints.hpp"
#include "scextract/core/algorithm.hpp"
#include "scextract/core/progress.hpp"
#include "scextract/interpret/operator_factors.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

struct FactorAblationOptions {
    std::int64_t core_size = 4;          ///< factors of the core (2^core_size - 1 subsets; at most 10)
    std::vector<std::string> endpoints;  ///< endpoint names to score; empty: all the cells support
    EndpointOptions endpoint;            ///< min_donor_cells
    std::vector<std::int64_t> top_shares{4, 10, 16}; ///< report the impact share of the top n factors
    int threads = 0;
    ProgressCallback progress;           ///< (configurations done, total); may be empty
};

/// Endpoint values of one configuration of the operator (donor means, NaN where n/a).
struct AblationScores {
    std::vector<double> value;  ///< per endpoint
    double impact = 0;          ///< sum over endpoints of max(0, intact - value) (drops, by direction)
};

/// One subset of the core kept, the other factors zeroed.
struct CoreSubset {
    std::vector<std::int64_t> kept; ///< factor indices, ascending
    AblationScores scores;
};

struct FactorAblationResult {
    std::vector<Endpoint> endpoints;
    std::vector<double> intact;                ///< per endpoint, nothing zeroed
    std::vector<AblationScores> single;        ///< per factor: that factor zeroed
    std::vector<double> share;                 ///< per factor: impact / sum of impacts (NaN when no impact at all)
    std::vector<std::int64_t> by_impact;       ///< factors by impact, largest first (ties: factor order)
    std::vector<std::pair<std::int64_t, double>> top_share; ///< (n, share of the n most impactful factors)
    std::vector<std::int64_t> core;            ///< the top core_size factors by impact, ascending
    std::vector<CoreSubset> subsets;           ///< every non-empty subset of the core; the last keeps the whole core
    std::int64_t n_cells = 0, n_donors = 0;
};

/// Scores @p algorithm on every cell of @p cells (all of them held out: @p cells must not be
/// the data it was fitted on for the scores to mean generalisation) with its operator intact,
/// each factor of @p factors zeroed in turn, and the core subsets. @p x is the cells' panel
/// expression over the algorithm's panel (cells x G). Throws scx::Error when the factors do
/// not belong to the algorithm's operator or no endpoint is supported.
FactorAblationResult ablate_factors(const Algorithm& algorithm, const OperatorFactors& factors, const BenchCells& cells,
                                    const RowMatrixF& x, const FactorAblationOptions& options = {});

/// The bench prediction of an algorithm's readouts (branch and stage: the most probable
/// class; binary tasks in the order of @p cells.binary_tasks).
MethodPrediction prediction_from_readouts(const BenchCells& cells, const AlgorithmFeatureOutputs& outputs);

} // namespace scx
