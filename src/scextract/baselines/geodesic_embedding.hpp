#pragma once
/// @file geodesic_embedding.hpp
/// @brief Isomap and geodesic (metric) MDS: the fitting methods the paper used for its second
/// manifold instead of the LET adaptor (METHOD.md, "What a public reconstruction adds").
///
/// Both start from the same geodesics: the exact k-nearest-neighbour graph of the rows
/// (baselines/knn_search.hpp, euclidean, the row itself not counted, as scikit-learn's
/// Isomap), symmetrised, with shortest paths (core/shortest_paths.hpp). Then
///  - **Isomap** (scikit-learn 1.9's Isomap): classical MDS of the geodesics, i.e. the top
///    eigenvectors of the double-centred -D^2 / 2 scaled by the square roots of their
///    eigenvalues, each column's sign fixed as scikit-learn's svd_flip does (largest |entry|
///    positive). Deterministic: a seed changes nothing.
///  - **geodesic MDS**: metric SMACOF (scikit-learn's _smacof_single: Guttman transforms,
///    stop when the stress decrease over half the sum of squared embedding distances < eps)
///    on the geodesics from a seeded uniform [0, 1) start.
/// New rows are placed without refitting: their geodesics run through their k nearest
/// training rows, and landmark-MDS triangulation (de Silva & Tenenbaum 2004) maps them into
/// the fitted embedding; for Isomap this equals scikit-learn's Isomap.transform.

#include "scextract/core/dense.hpp"

#include <Eigen/Dense>

#include <cstdint>
#include <string>

namespace scx {

enum class GeodesicMethod { isomap, geodesic_mds };

/// "isomap" or "mds".
std::string geodesic_method_name(GeodesicMethod method);

struct GeodesicEmbeddingOptions {
    GeodesicMethod method = GeodesicMethod::isomap;
    std::int64_t n_neighbors = 10;  ///< neighbours per row, the row itself not counted (scikit-learn's count)
    std::int64_t dimensions = 2;    ///< embedding dimensions
    std::uint64_t seed = 0;         ///< geodesic MDS's random start (Isomap ignores it)
    std::int64_t max_iter = 300;    ///< SMACOF iterations (scikit-learn's default)
    double eps = 1e-6;              ///< SMACOF tolerance (scikit-learn >= 1.7)
    int threads = 0;
};

/// A fitted embedding; keeps what placing new rows needs.
struct GeodesicEmbedding {
    GeodesicMethod method = GeodesicMethod::isomap;
    std::int64_t n_neighbors = 0;
    RowMatrixF training;        ///< the rows it was fitted on
    Eigen::MatrixXd geodesic;   ///< training x training geodesic distances
    Eigen::MatrixXd embedding;  ///< training x dimensions
    double stress = 0;          ///< SMACOF's raw stress (0 for Isomap)
    std::int64_t iterations = 0; ///< SMACOF iterations run (0 for Isomap)
};

/// Geodesic distances on the symmetrised kNN graph of @p x. Throws scx::Error naming k when
/// the graph is disconnected (scikit-learn would patch it; a ruler test should not), or when
/// k is not in [1, rows - 1].
Eigen::MatrixXd knn_geodesic_distances(const RowMatrixF& x, std::int64_t n_neighbors, int threads = 0);

/// Classical (Torgerson) MDS of a distance matrix to @p dimensions, sign-fixed as above.
/// Throws scx::Error when an eigenvalue among the first @p dimensions is not positive.
Eigen::MatrixXd classical_mds(const Eigen::MatrixXd& distances, std::int64_t dimensions);

/// Result of smacof().
struct SmacofResult {
    Eigen::MatrixXd embedding;
    double stress = 0;
    std::int64_t iterations = 0;
};

/// Metric SMACOF from @p init (rows x dimensions), as scikit-learn's _smacof_single(metric=True).
SmacofResult smacof(const Eigen::MatrixXd& dissimilarities, const Eigen::MatrixXd& init, std::int64_t max_iter = 300,
                    double eps = 1e-6);

/// Fits Isomap or geodesic MDS on the rows of @p x.
GeodesicEmbedding fit_geodesic_embedding(const RowMatrixF& x, const GeodesicEmbeddingOptions& options = {});

/// Places new rows (same columns as the training rows) into a fitted embedding.
Eigen::MatrixXd place_rows(const GeodesicEmbedding& fitted, const RowMatrixF& rows, int threads = 0);

} // namespace scx
