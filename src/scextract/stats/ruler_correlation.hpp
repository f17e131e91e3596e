#pragma once
/// @file ruler_correlation.hpp
/// @brief How well a latent space orders things by the ruler: Spearman between the latent
/// arc distances of rows and the ruler distances of their stages (the head scan's score and
/// the holdout gates of `validate`), and removing donor and tissue offsets first.

#include <Eigen/Dense>

#include <cstdint>
#include <vector>

namespace scx {

/// Spearman correlation between arccos(cos(z_i, z_j)) and dist(stage[i], stage[j]) over
/// the pairs i < j; with @p held (one flag per row), only over the pairs where at least one
/// row is held out. A zero row has angle 0 to everything. NaN when fewer than two pairs
/// qualify or either side is constant.
double ruler_correlation(const Eigen::MatrixXd& z, const std::vector<std::int64_t>& stage, const Eigen::MatrixXd& dist,
                         const std::vector<char>* held = nullptr);

/// Residuals of @p z after least squares on an intercept and one-hot @p donor and @p tissue
/// codes (0-based, the first level dropped), with the overall mean added back: only donor and
/// tissue differences are removed.
Eigen::MatrixXd regress_out_groups(const Eigen::MatrixXd& z, const std::vector<std::int64_t>& donor,
                                   const std::vector<std::int64_t>& tissue);

} // namespace scx
