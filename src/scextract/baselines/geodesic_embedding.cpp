#include "scextract/baselines/geodesic_embedding.hpp"

#include "scextract/baselines/knn_search.hpp"
#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"
#include "scextract/core/random.hpp"
#include "scextract/core/shortest_paths.hpp"

#include <Eigen/Eigenvalues>

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace scx {

std::string geodesic_method_name(GeodesicMethod method) { return method == GeodesicMethod::isomap ? "isomap" : "mds"; }

namespace {

KnnGraph neighbours(const RowMatrixF& x, std::int64_t k, int threads) {
    if (k < 1 || k > x.rows() - 1)
        throw Error(fmt::format("geodesic embedding: k = {} neighbours needs k in [1, {}] for {} rows", k, x.rows() - 1, x.rows()));
    return find_nearest_neighbors(x, {.n_neighbors = k + 1, .algorithm = KnnAlgorithm::exact, .threads = threads});
}

Eigen::MatrixXd pairwise_euclidean(const Eigen::MatrixXd& x) {
    const Eigen::VectorXd sq = x.rowwise().squaredNorm();
    Eigen::MatrixXd d = (-2.0 * x * x.transpose()).colwise() + sq;
    d.rowwise() += sq.transpose();
    return d.cwiseMax(0.0).cwiseSqrt();
}

} // namespace

Eigen::MatrixXd knn_geodesic_distances(const RowMatrixF& x, std::int64_t n_neighbors, int threads) {
    const auto g = neighbours(x, n_neighbors, threads);
    WeightedAdjacency adj(static_cast<std::size_t>(x.rows()));
    for (Eigen::Index i = 0; i < x.rows(); ++i)
        for (Eigen::Index t = 1; t < g.index.cols(); ++t) {
            adj[i].push_back({g.index(i, t), g.distance(i, t)});
            adj[g.index(i, t)].push_back({i, g.distance(i, t)});
        }
    const auto component = connected_components(adj);
    if (const auto parts = *std::max_element(component.begin(), component.end()) + 1; parts > 1)
        throw Error(fmt::format("geodesic embedding: the {}-nearest-neighbour graph of {} rows falls into {} parts; raise k",
                                n_neighbors, x.rows(), parts));
    return all_shortest_paths(adj, threads);
}

Eigen::MatrixXd classical_mds(const Eigen::MatrixXd& distances, std::int64_t dimensions) {
    const auto n = distances.rows();
    if (dimensions < 1 || dimensions >= n) throw Error(fmt::format("classical MDS: {} dimensions for {} points", dimensions, n));
    Eigen::MatrixXd k = -0.5 * distances.array().square().matrix();
    // double centring (scikit-learn's KernelCenterer)
    const Eigen::VectorXd col_mean = k.colwise().mean().transpose();
    const double all_mean = col_mean.mean();
    k.rowwise() -= col_mean.transpose();
    k.colwise() -= col_mean;
    k.array() += all_mean;
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(k);
    Eigen::MatrixXd out(n, dimensions);
    for (Eigen::Index c = 0; c < dimensions; ++c) {
        const auto src = n - 1 - c; // eigenvalues ascending
        const double lambda = eig.eigenvalues()(src);
        if (!(lambda > 0))
            throw Error(fmt::format("classical MDS: eigenvalue {} of the geodesics is {:.3g}; fewer dimensions needed", c + 1, lambda));
        Eigen::VectorXd v = eig.eigenvectors().col(src);
        Eigen::Index at = 0;
        v.cwiseAbs().maxCoeff(&at);
        if (v(at) < 0) v = -v;
        out.col(c) = v * std::sqrt(lambda);
    }
    return out;
}

SmacofResult smacof(const Eigen::MatrixXd& dissimilarities, const Eigen::MatrixXd& init, std::int64_t max_iter, double eps) {
    const auto n = dissimilarities.rows();
    if (init.rows() != n) throw Error(fmt::format("SMACOF: a start of {} rows for {} points", init.rows(), n));
    SmacofResult r;
    Eigen::MatrixXd x = init;
    Eigen::MatrixXd dist = pairwise_euclidean(x);
    double old_stress = std::numeric_limits<double>::quiet_NaN();
    for (std::int64_t it = 0; it < max_iter; ++it) {
        // Guttman transform: X <- B(X) X / n
        Eigen::MatrixXd ratio = dissimilarities.array() / (dist.array() == 0).select(1e-5, dist.array());
        Eigen::MatrixXd b = -ratio;
        b.diagonal() += ratio.rowwise().sum();
        x = b * x / static_cast<double>(n);
        dist = pairwise_euclidean(x);
        r.stress = (dist - dissimilarities).squaredNorm() / 2;
        r.iterations = it + 1;
        if (std::isfinite(old_stress) && (old_stress - r.stress) / (dist.squaredNorm() / 2) < eps) break;
        old_stress = r.stress;
    }
    r.embedding = std::move(x);
    return r;
}

GeodesicEmbedding fit_geodesic_embedding(const RowMatrixF& x, const GeodesicEmbeddingOptions& o) {
    GeodesicEmbedding e;
    e.method = o.method;
    e.n_neighbors = o.n_neighbors;
    e.training = x;
    e.geodesic = knn_geodesic_distances(x, o.n_neighbors, o.threads);
    if (o.method == GeodesicMethod::isomap) {
        e.embedding = classical_mds(e.geodesic, o.dimensions);
    } else {
        if (o.dimensions < 1 || o.dimensions >= x.rows())
            throw Error(fmt::format("geodesic MDS: {} dimensions for {} points", o.dimensions, x.rows()));
        Rng rng(o.seed, 7);
        Eigen::MatrixXd init(x.rows(), o.dimensions);
        for (Eigen::Index i = 0; i < init.rows(); ++i)
            for (Eigen::Index j = 0; j < init.cols(); ++j) init(i, j) = rng.uniform();
        auto s = smacof(e.geodesic, init, o.max_iter, o.eps);
        e.embedding = std::move(s.embedding);
        e.stress = s.stress;
        e.iterations = s.iterations;
    }
    return e;
}

Eigen::MatrixXd place_rows(const GeodesicEmbedding& f, const RowMatrixF& rows, int threads) {
    if (rows.cols() != f.training.cols())
        throw Error(fmt::format("geodesic embedding: rows of {} columns for an embedding fitted on {}", rows.cols(), f.training.cols()));
    const auto n = f.training.rows();
    const auto k = std::min<std::int64_t>(f.n_neighbors, n);
    // landmark MDS: x = -1/2 (Y'Y)^-1 Y' (delta^2 - mean column of D^2), Y centred
    const Eigen::RowVectorXd centre = f.embedding.colwise().mean();
    const Eigen::MatrixXd y = f.embedding.rowwise() - centre;
    const Eigen::MatrixXd pinv = (y.transpose() * y).ldlt().solve(y.transpose()); // dims x n
    const Eigen::VectorXd mean_sq = f.geodesic.array().square().colwise().mean().transpose();
    Eigen::MatrixXd out(rows.rows(), f.embedding.cols());
    parallel_for(rows.rows(), 16, threads, [&](std::int64_t, std::int64_t b, std::int64_t e) {
        std::vector<std::pair<double, std::int64_t>> d(static_cast<std::size_t>(n));
        for (std::int64_t r = b; r < e; ++r) {
            for (std::int64_t j = 0; j < n; ++j)
                d[j] = {(rows.row(r).cast<double>() - f.training.row(j).cast<double>()).norm(), j};
            std::partial_sort(d.begin(), d.begin() + k, d.end());
            Eigen::VectorXd delta = Eigen::VectorXd::Constant(n, std::numeric_limits<double>::infinity());
            for (std::int64_t t = 0; t < k; ++t) delta = delta.cwiseMin((f.geodesic.row(d[t].second).transpose().array() + d[t].first).matrix());
            out.row(r) = (-0.5 * pinv * (delta.array().square().matrix() - mean_sq)).transpose() + centre;
        }
    });
    return out;
}

} // namespace scx
