#pragma once
/// @file control_operators.hpp
/// @brief Operators that stand in for the model's, for the controls of the extraction
/// issue: stages 1-3 amount to an affine map of the panel expression, so the extracted
/// algorithm must beat the same Stage 2/3 pipeline run on features that carry no model
/// knowledge - the identity (A = I), a random operator with the same singular values and the
/// operator itself with its genes shuffled.

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

/// @p op with its gene identities shuffled: every block B becomes P B P^T for one seeded
/// permutation P of the panel (B'[i][j] = B[pi(i)][pi(j)]), the same for all blocks. Spectrum,
/// sparsity and the distribution of weights are kept; which genes the weights connect is not.
/// Separates what an operator carries about these genes (e.g. an atlas's co-expression) from
/// its structure alone. Blocks come out dense.
FeatureOperator gene_permuted_operator(const FeatureOperator& op, std::uint64_t seed);

} // namespace scx
