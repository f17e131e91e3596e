#pragma once
/// @file control_operators.hpp
/// @brief Operators that stand in for the model's, for the controls of the extraction
/// issue: stages 1-3 amount to an affine map of the panel expression, so the extracted
/// algorithm must beat the same Stage 2/3 pipeline run on features that carry no model
/// knowledge - the identity (A = I) and a random operator with the same singular values.

#include "scextract/core/feature_operator.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

/// One dense identity block over @p genes: the features are the panel expression itself.
FeatureOperator identity_operator(const std::vector<std::string>& genes);

/// The singular values of each block of @p op (materialised to G x G), in descending order.
std::vector<std::vector<double>> block_singular_values(const FeatureOperator& op);

/// Per block of @p op: U diag(s) V^T with s the block's singular values and U, V
/// independent Haar-random orthogonal matrices (QR of Gaussian matrices with the signs of
/// R's diagonal made positive), seeded by @p seed and the block index. Same spectrum, no
/// gene structure. Blocks come out dense.
FeatureOperator matched_spectrum_operator(const FeatureOperator& op, std::uint64_t seed);

} // namespace scx
