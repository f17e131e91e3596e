#pragma once
/// @file operator_factors.hpp
/// @brief The factors of a single-head operator (METHOD.md, "Interpretability"): its block
/// M written as a sum of rank-one terms s_f r_f w_f^T in singular-value order, so a cell's
/// features x M = sum_f s_f (x . r_f) w_f^T. r_f reads a cell's expression (the read genes),
/// w_f is what the factor writes into the features (the write genes).

#include "scextract/core/dense.hpp"
#include "scextract/core/feature_operator.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

struct OperatorFactorsOptions {
    /// Factors kept from a dense head (its top singular triplets). A low-rank or
    /// sparse-factor block keeps all of its own.
    std::int64_t max_factors = 64;
};

/// The factors of one block; columns of read and write are factors f00, f01, ...
struct OperatorFactors {
    std::vector<std::string> genes;   ///< the panel, in operator order
    std::string block_name;           ///< e.g. "L2H5 rank 64"
    std::string form;                 ///< "dense", "low_rank" or "sparse_factors"
    Eigen::VectorXd scale;            ///< s_f, non-increasing
    RowMatrixD read, write;           ///< G x r: r_f and w_f (unit length for dense / low rank)
    /// True when the factors sum to the block exactly (low rank, sparse factors); false for a
    /// dense head truncated to max_factors, whose remainder stays in every ablation.
    bool exact = true;

    [[nodiscard]] std::int64_t size() const { return scale.size(); }
    [[nodiscard]] static std::string name(std::int64_t f);  ///< "f00", "f01", ...
};

/// Factors of @p op, which must have exactly one block (a single head, its rank-r surrogate
/// or its hard-sparse factors). Singular vectors are sign-fixed (largest |read| entry
/// positive) so results are reproducible. Throws scx::Error naming the blocks otherwise.
OperatorFactors operator_factors(const FeatureOperator& op, const OperatorFactorsOptions& options = {});

/// One gene's loading on a factor side.
struct GeneLoading {
    std::string gene;
    std::int64_t position = 0; ///< in the panel
    double loading = 0;        ///< signed
};

/// The @p n genes with the largest |loading| in @p v (ties: panel order), largest first;
/// zero loadings are never listed.
std::vector<GeneLoading> top_loadings(const Eigen::VectorXd& v, const std::vector<std::string>& genes, std::int64_t n);

/// The features of the cells of @p x (cells x G panel expression) that the factors outside
/// @p keep contribute: sum over f with !keep[f] of s_f (x r_f) w_f^T (cells x G). Subtracting it
/// from x M removes those factors, leaving the rest of the operator as it is. Row-parallel over
/// @p threads in fixed blocks; the result does not depend on them.
RowMatrixF removed_factor_features(const OperatorFactors& factors, const RowMatrixF& x, const std::vector<bool>& keep,
                                   int threads = 1);

} // namespace scx
