#pragma once
/// @file pca_projection.hpp
/// @brief The linear projections of the PCA-10 and SVD-10 baselines, with scikit-learn's
/// semantics: PCA(n_components) (centred; components, explained variance and transform as
/// sklearn.decomposition.PCA) and TruncatedSVD(n_components) (not centred; as
/// sklearn.decomposition.TruncatedSVD).
///
/// Both are computed exactly from the features x features cross-product matrix (centred for
/// PCA) in double, summed over rows in a fixed order, so the result does not depend on the
/// thread count. TruncatedSVD's default algorithm in sklearn is randomized (n_iter=5, no
/// fixed seed); its output converges to this exact truncated SVD as the power iterations
/// grow, which is what a deterministic benchmark should use (sklearn's algorithm='arpack'
/// gives the same). Signs follow sklearn's svd_flip(u_based_decision=False), which both
/// estimators apply: in each component the entry of largest magnitude (the first, on ties)
/// is positive, so components are reproducible.

#include "scextract/core/dense.hpp"

#include <Eigen/Dense>

#include <cstdint>

namespace scx {

/// How the leading eigenvectors of the cross-product matrix are found.
enum class PcaSolver {
    automatic, ///< full below 256 features or when n_components > features / 4, else lanczos
    full,      ///< every eigenpair (Eigen's SelfAdjointEigenSolver): O(features^3)
    /// the leading eigenpairs only (Spectra's implicitly restarted Lanczos, fixed start
    /// vector, residual tolerance 1e-12 relative to the eigenvalue); falls back to full when
    /// it does not converge. Agrees with full to rounding on eigenvectors with a gap.
    lanczos
};

/// Options of fit_pca_projection().
struct PcaProjectionOptions {
    std::int64_t n_components = 10; ///< the benchmark's PCA-10 / SVD-10
    /// true: PCA (the column means are removed); false: TruncatedSVD (no centring).
    bool center = true;
    PcaSolver solver = PcaSolver::automatic;
    int threads = 0;
};

/// A fitted projection: scores = (x - mean) components^T.
struct PcaProjection {
    Eigen::VectorXd mean;      ///< per feature; all zero without centring
    RowMatrixD components;     ///< n_components x features, orthonormal rows (sklearn's components_)
    /// PCA: the covariance eigenvalues (ddof 1), i.e. S^2 / (n - 1); TruncatedSVD: the
    /// variance (ddof 0) of the training scores, as sklearn reports each.
    Eigen::VectorXd explained_variance;
    /// explained_variance over the total variance of the features (ddof 1 for PCA, ddof 0
    /// for TruncatedSVD, as sklearn).
    Eigen::VectorXd explained_variance_ratio;
    Eigen::VectorXd singular_values; ///< of the (centred) training matrix
    bool centered = true;

    /// Scores of the rows of @p x (cells x features), in double, stored as float. Throws
    /// scx::Error when @p x has another number of columns.
    [[nodiscard]] RowMatrixF transform(const RowMatrixF& x, int threads = 0) const;
    /// Fitted numbers: components, plus the mean when centred.
    [[nodiscard]] std::int64_t parameter_count() const {
        return components.size() + (centered ? mean.size() : 0);
    }
};

/// What fit_pca_projection() returns.
struct PcaProjectionResult {
    PcaProjection projection;
    RowMatrixF scores;      ///< transform() of the training rows
    bool used_lanczos = false; ///< the leading eigenpairs came from the Lanczos solver
};

/// Fits PCA (options.center) or TruncatedSVD on the rows of @p x (cells x features).
/// Throws scx::Error unless 1 <= n_components <= min(rows, features) and, for PCA, there
/// are at least 2 rows.
PcaProjectionResult fit_pca_projection(const RowMatrixF& x, const PcaProjectionOptions& options = {});

} // namespace scx
