#pragma once
/// @file apply_plan.hpp
/// @brief Applying an algorithm whose feature blocks are all low rank or sparse factors
/// without forming its D features per cell.
///
/// Every such block is x L_b R_b (a sparse-factor block has L_b = read loadings x scale and
/// R_b = write loadings), so with U_b = x L_b (r_b wide, from the cell's sparse panel values)
/// the standardised features are s = [U_b R_b] / sd - mean / sd, and with c = mean / sd + b:
///
///     z        = sum_b U_b P_b - W c,                 P_b = R_b diag(1/sd_b)   W_b^T  (r_b x k)
///     |s - b|^2 = sum_b U_b Q_b U_b^T - 2 sum_b U_b q_b + |c|^2,
///                                                      Q_b = R_b diag(1/sd_b^2) R_b^T, q_b = R_b (c_b / sd_b)
///     error    = (z^T W W^T z - 2 |z|^2 + |s - b|^2) / D
///
/// (the tied autoencoder's ||W^T z - (s - b)||^2 / D, since z = W (s - b)). The folded terms
/// are formed and used in double, so they match the exact float path (FeatureOperator::apply,
/// Standardizer, Adaptor::encode_with_error) up to rounding; the cost per cell is the
/// cell's panel non-zeros x total rank plus rank x (k + rank), not panel x features.

#include "scextract/core/algorithm.hpp"
#include "scextract/core/dense.hpp"
#include "scextract/extract/panel_features.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace scx {

/// The folded form of one algorithm, built once and shared by every thread.
struct FoldedApplyPlan {
    std::int64_t n_genes = 0;  ///< panel size G
    std::int64_t k = 0;        ///< latent dimension
    std::int64_t n_features = 0; ///< D
    std::int64_t rank = 0;     ///< sum of the blocks' ranks
    std::vector<std::int64_t> rank_offset; ///< block b owns columns [rank_offset[b], rank_offset[b + 1]) of L
    RowMatrixD L;              ///< G x rank: every block's read side, side by side
    RowMatrixD P;              ///< rank x k
    Eigen::RowVectorXd z0;     ///< W c (k)
    std::vector<RowMatrixD> Q; ///< per block r_b x r_b
    Eigen::RowVectorXd q;      ///< rank
    double c_sq = 0;           ///< |c|^2
    RowMatrixD WWt;            ///< k x k
};

/// The folded plan of @p algorithm, or nothing when a block is dense (apply then forms the
/// features). Throws scx::Error on inconsistent shapes.
std::optional<FoldedApplyPlan> make_folded_apply_plan(const Algorithm& algorithm);

/// Latent (n x k, float) and reconstruction error (n) of the cells of @p x, on the calling
/// thread. Each row's arithmetic depends only on the row and on the rows sharing its call,
/// in a fixed order.
void folded_encode(const FoldedApplyPlan& plan, const SparsePanelExpression& x, RowMatrixF& z, Eigen::VectorXf& error);

} // namespace scx
