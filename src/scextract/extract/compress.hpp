#pragma once
/// @file compress.hpp
/// @brief From exported operators to the feature operator an algorithm carries
/// (METHOD.md, "Compression and head selection"): the pooled drift operator, one head,
/// top-k weighted heads, a rank-r SVD surrogate, and hard-sparse factors.

#include "scextract/core/feature_operator.hpp"
#include "scextract/core/operator_set.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace scx {

/// x A (rows are query genes: a cell's expression reads through the rows it expresses)
/// or x A^T. METHOD.md leaves this unresolved; xA is the default.
enum class Orientation { xA, xAT };

/// Parses "xA" / "xAT" (throws UsageError otherwise).
Orientation parse_orientation(const std::string& text);
std::string orientation_name(Orientation o);

/// The layer blocks of the drift operator: n_layers split into three contiguous,
/// near-equal blocks (0-3, 4-7, 8-11 for the whole-human model's 12 layers).
std::vector<std::pair<std::int64_t, std::int64_t>> drift_layer_blocks(std::int64_t n_layers);

/// The pooled drift operator: A_early, A_mid, A_late = means over every head of each
/// layer block; features [x (A_early - A_mid), x (A_mid - A_late)] (2G).
FeatureOperator pooled_drift_operator(const OperatorSet& ops, Orientation orientation);

/// One head: features x A(l, h) (G).
FeatureOperator single_head_operator(const OperatorSet& ops, std::int64_t layer, std::int64_t head,
                                     Orientation orientation);

/// A weighted head: (layer, head, weight).
struct WeightedHead {
    std::int64_t layer = 0, head = 0;
    double weight = 1.0;
};

/// Top-k heads pooled with weights: features x sum_k w_k A_k / sum_k w_k (G).
FeatureOperator weighted_heads_operator(const OperatorSet& ops, const std::vector<WeightedHead>& heads,
                                        Orientation orientation);

/// Truncated SVD of every dense block of @p op: M ~ U_r S_r V_r^T stored as
/// L = U_r S_r (G x r), R = V_r^T (r x G). Singular vectors are sign-fixed (largest
/// |entry| of each left vector positive), so results are reproducible.
FeatureOperator low_rank_operator(const FeatureOperator& op, std::int64_t rank);

/// Hard-sparse factors of every dense block: the top @p n_factors singular triplets,
/// each keeping only its @p top_read largest |read| (left) and @p top_write largest
/// |write| (right) loadings (METHOD.md: 16 factors x top-60 read and write genes).
FeatureOperator hard_sparse_operator(const FeatureOperator& op, std::int64_t n_factors = 16, std::int64_t top_read = 60,
                                     std::int64_t top_write = 60);

/// Which feature operator to build from exported operators (the choices `compress` and
/// `fit` share). Defaults: the pooled drift operator, x A.
struct FeatureSpec {
    std::string variant = "drift";        ///< "drift", "head", "topk", "rank", "sparse"
    std::int64_t layer = 2, head = 5;     ///< "head", and the head "rank" / "sparse" compress
    std::vector<WeightedHead> heads;      ///< "topk"
    std::int64_t rank = 64;               ///< "rank"
    std::int64_t n_factors = 16, top_genes = 60; ///< "sparse"
    Orientation orientation = Orientation::xA;
};

/// Builds the feature operator @p spec names. "rank" and "sparse" compress the single head
/// (METHOD.md's chain: pooled heads -> one head -> rank-r / hard-sparse).
FeatureOperator build_feature_operator(const OperatorSet& ops, const FeatureSpec& spec);

/// Parses "2:5" (layer:head) and "2:5:0.7,0:1:0.3" (layer:head:weight, weight optional = 1).
std::vector<WeightedHead> parse_weighted_heads(const std::string& text);

/// Relative Frobenius error ||M - M_approx|| / ||M|| of each block of @p approx against
/// the dense blocks of @p exact (same block order).
std::vector<double> relative_errors(const FeatureOperator& exact, const FeatureOperator& approx);

} // namespace scx
