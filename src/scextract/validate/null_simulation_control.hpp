#pragma once
/// @file null_simulation_control.hpp
/// @brief The null-simulation control of `validate`: simulate's null model (no stage
/// programmes) shaped like the data - its cell and donor counts, genes drawn from its own
/// symbols - and read through the same features, so a manifold the gates pass on it is one
/// the data did not need to build.

#include "scextract/core/feature_operator.hpp"
#include "scextract/core/ruler.hpp"
#include "scextract/readout/algorithm_pipeline.hpp"
#include "scextract/validate/manifold_validation.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

struct NullSimulationOptions {
    std::int64_t max_cells = 5000;  ///< at most this many cells (and at most the data's)
    std::int64_t max_genes = 4000;  ///< genes drawn from the data's symbols
    std::uint64_t seed = 42;
    int threads = 0;
};

struct NullSimulationControl {
    ManifoldData data;        ///< the null bed's features, ready for validate_manifold()
    std::string description;  ///< one sentence for the results file
};

/// A null bed like @p like (cells, donors) on @p symbols, mapped through @p features.
/// Throws scx::Error when the data's symbols cannot supply a gene pool.
NullSimulationControl null_simulation_control(const FeatureOperator& features, double target_sum, const ManifoldData& like,
                                              const std::vector<std::string>& symbols, const Ruler& ruler,
                                              const NullSimulationOptions& options);

} // namespace scx
