#pragma once
/// @file manifold_inputs.hpp
/// @brief What `scextract validate` feeds validate/manifold_validation.hpp: the operator
/// features of labelled cells.

#include "scextract/core/csr_matrix.hpp"
#include "scextract/core/feature_operator.hpp"
#include "scextract/core/ruler.hpp"
#include "scextract/validate/manifold_validation.hpp"
#include "scextract/readout/algorithm_pipeline.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

/// The cells of @p data on the ruler as ManifoldData: x = log1p(normalize_total(counts,
/// target_sum)) over @p features' panel (totals over all genes), mapped through the operator.
/// Donor, tissue and label codes follow the sorted names. Cells whose label maps to no stage
/// are left out and counted in @p unmapped_cells (may be null). Throws scx::Error on size
/// mismatches or when no label maps to the ruler.
ManifoldData manifold_data(const FeatureOperator& features, double target_sum, const AlgorithmTrainingData& data,
                           const Ruler& ruler, int threads, std::int64_t* unmapped_cells = nullptr);

} // namespace scx
