#include "scextract/baselines/palantir.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"
#include "scextract/core/shortest_paths.hpp"
#include "scextract/baselines/diffusion_map.hpp"
#include "scextract/baselines/diffusion_pseudotime.hpp"
#include "scextract/baselines/numpy_generator.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <queue>
#include <set>
#include <utility>

#include <fmt/format.h>

namespace scx {

namespace {

constexpr double kConverged = 0.9999; // palantir's Pearson threshold between refinement steps

using Adjacency = WeightedAdjacency;

/// The cells at the minimum and at the maximum of each component (palantir's "boundaries";
/// the first such cell on ties, as pandas' idxmin / idxmax).
std::set<std::int64_t> component_extremes(const RowMatrixD& scaled) {
    std::set<std::int64_t> out;
    for (Eigen::Index j = 0; j < scaled.cols(); ++j) {
        Eigen::Index lo = 0, hi = 0;
        scaled.col(j).minCoeff(&lo);
        scaled.col(j).maxCoeff(&hi);
        out.insert(lo);
        out.insert(hi);
    }
    return out;
}

double pearson(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
    const Eigen::ArrayXd x = a.array() - a.mean(), y = b.array() - b.mean();
    return (x * y).sum() / std::sqrt((x * x).sum() * (y * y).sum());
}

} // namespace

SparseMatrixD palantir_kernel(const KnnGraph& knn) {
    const std::int64_t n = knn.index.rows(), k = knn.index.cols();
    const std::int64_t adaptive_k = std::max<std::int64_t>(1, std::min(k / 3, k - 1)); // floor(knn / 3)
    std::vector<Eigen::Triplet<double>> t;
    t.reserve(static_cast<std::size_t>(2 * n * (k - 1)));
    for (std::int64_t i = 0; i < n; ++i) {
        const double sigma = knn.distance(i, adaptive_k);
        for (std::int64_t j = 1; j < k; ++j) {
            const double d = knn.distance(i, j);
            if (d == 0.0) continue; // scipy's find() drops zero distances
            const double w = std::exp(-d / sigma);
            t.emplace_back(static_cast<int>(i), static_cast<int>(knn.index(i, j)), w);
            t.emplace_back(static_cast<int>(knn.index(i, j)), static_cast<int>(i), w); // + W^T
        }
    }
    SparseMatrixD m(n, n);
    m.setFromTriplets(t.begin(), t.end()); // duplicates sum: W + W^T
    m.makeCompressed();
    return m;
}

PalantirDiffusionMap palantir_diffusion_map(const SparseMatrixD& kernel, std::int64_t n_components) {
    // T = D^-1 K is similar to S = D^-1/2 K D^-1/2 (diffusion_map without density
    // normalisation); T's right eigenvectors are D^-1/2 u, rescaled to unit length.
    DiffusionMapOptions o;
    o.n_components = n_components;
    o.density_normalize = false;
    const auto s = diffusion_map(kernel, o);
    Eigen::VectorXd degree = Eigen::VectorXd::Zero(kernel.rows());
    for (int c = 0; c < kernel.outerSize(); ++c)
        for (SparseMatrixD::InnerIterator it(kernel, c); it; ++it) degree(it.col()) += it.value();
    PalantirDiffusionMap r{s.eigenvalues, s.eigenvectors};
    for (Eigen::Index j = 0; j < r.eigenvectors.cols(); ++j) {
        r.eigenvectors.col(j).array() /= degree.array().sqrt();
        r.eigenvectors.col(j).normalize();
    }
    return r;
}

RowMatrixD palantir_multiscale_space(const PalantirDiffusionMap& map, std::int64_t n_eigs) {
    const auto& v = map.eigenvalues;
    const Eigen::Index m = v.size();
    if (m < 3) throw Error(fmt::format("Palantir: {} diffusion components, at least 3 needed", m));
    if (n_eigs <= 0) {
        // positions of the gaps v[i] - v[i+1], by size (largest last, as np.argsort)
        std::vector<Eigen::Index> order(static_cast<std::size_t>(m - 1));
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](Eigen::Index a, Eigen::Index b) {
            return v(a) - v(a + 1) < v(b) - v(b + 1);
        });
        n_eigs = order.back() + 1;
        if (n_eigs < 3 && order.size() >= 2) n_eigs = order[order.size() - 2] + 1;
        if (n_eigs < 3) n_eigs = 3;
    }
    n_eigs = std::min<std::int64_t>(n_eigs, m);
    RowMatrixD out(map.eigenvectors.rows(), n_eigs - 1);
    for (std::int64_t l = 1; l < n_eigs; ++l) out.col(l - 1) = map.eigenvectors.col(l) * (v(l) / (1.0 - v(l)));
    return out;
}

std::int64_t palantir_start_cell(const RowMatrixD& scaled, std::int64_t early_cell) {
    if (early_cell < 0 || early_cell >= scaled.rows())
        throw Error(fmt::format("Palantir: early cell {} is not among the {} cells", early_cell, scaled.rows()));
    const auto boundaries = component_extremes(scaled);
    std::int64_t best = -1;
    double best_d = std::numeric_limits<double>::infinity();
    for (const auto b : boundaries) {
        const double d = (scaled.row(b) - scaled.row(early_cell)).norm();
        if (d < best_d) {
            best_d = d;
            best = b;
        }
    }
    return best;
}

std::vector<std::int64_t> palantir_max_min_waypoints(const RowMatrixD& scaled, std::int64_t num_waypoints,
                                                     std::uint64_t seed) {
    const std::int64_t n = scaled.rows(), dims = scaled.cols();
    num_waypoints = std::max<std::int64_t>({num_waypoints, 3, dims});
    const std::int64_t per_component = num_waypoints / dims;
    if (seed > 0xffffffffULL) throw Error(fmt::format("Palantir: seed {} is above 2^32 - 1", seed));
    NumpyGenerator rng(static_cast<std::uint32_t>(seed)); // palantir: np.random.default_rng(seed)
    std::set<std::int64_t> chosen;
    for (Eigen::Index j = 0; j < dims; ++j) {
        const Eigen::VectorXd vec = scaled.col(j);
        const std::int64_t current = rng.integers(n);
        chosen.insert(current);
        Eigen::VectorXd min_dist = (vec.array() - vec(current)).abs();
        for (std::int64_t k = 1; k < per_component; ++k) {
            Eigen::Index next = 0;
            min_dist.maxCoeff(&next);
            chosen.insert(next);
            min_dist = min_dist.cwiseMin((vec.array() - vec(next)).abs().matrix());
        }
    }
    return {chosen.begin(), chosen.end()};
}

std::vector<std::int64_t> palantir_waypoints(const RowMatrixD& scaled, std::int64_t start_cell, std::int64_t num_waypoints,
                                             std::uint64_t seed) {
    const auto sampled = palantir_max_min_waypoints(scaled, num_waypoints, seed);
    std::set<std::int64_t> wp = component_extremes(scaled); // the boundaries join the waypoints
    wp.insert(sampled.begin(), sampled.end());
    wp.erase(start_cell);
    std::vector<std::int64_t> out{start_cell};
    out.insert(out.end(), wp.begin(), wp.end());
    return out;
}

PalantirPseudotime palantir_pseudotime(const RowMatrixD& scaled, const std::vector<std::int64_t>& waypoints,
                                       const PalantirPseudotimeOptions& options) {
    const std::int64_t n = scaled.rows();
    if (waypoints.empty()) throw Error("Palantir: no waypoints");
    for (const auto w : waypoints)
        if (w < 0 || w >= n) throw Error(fmt::format("Palantir: waypoint {} is not among the {} cells", w, n));
    const std::int64_t start = waypoints.front();
    KnnSearchOptions ko;
    ko.n_neighbors = std::min(options.knn, n);
    ko.algorithm = KnnAlgorithm::exact; // scikit-learn's NearestNeighbors is exact
    ko.threads = options.threads;
    const auto knn = find_nearest_neighbors(scaled.cast<float>(), ko);
    Adjacency adj(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i)
        for (Eigen::Index j = 1; j < knn.index.cols(); ++j) {
            const auto u = knn.index(i, j);
            // exact distance in the double scaled space; the graph is undirected
            const double d = (scaled.row(i) - scaled.row(u)).norm();
            adj[static_cast<std::size_t>(i)].emplace_back(u, d);
            adj[static_cast<std::size_t>(u)].emplace_back(i, d);
        }

    // _connect_graph: join the farthest reachable cell to its nearest unreachable one until
    // every cell is reached from the start
    PalantirPseudotime r;
    for (;;) {
        const Eigen::VectorXd from_start = shortest_paths_from(adj, start);
        if (from_start.allFinite()) break;
        Eigen::Index far = 0;
        double far_d = -1.0;
        for (Eigen::Index i = 0; i < n; ++i)
            if (std::isfinite(from_start(i)) && from_start(i) > far_d) far_d = from_start(i), far = i;
        Eigen::Index near = -1;
        double near_d = std::numeric_limits<double>::infinity();
        for (Eigen::Index i = 0; i < n; ++i)
            if (!std::isfinite(from_start(i))) {
                const double d = (scaled.row(far) - scaled.row(i)).norm();
                if (d < near_d) near_d = d, near = i;
            }
        adj[static_cast<std::size_t>(far)].emplace_back(near, near_d);
        adj[static_cast<std::size_t>(near)].emplace_back(far, near_d);
        ++r.added_edges;
    }

    const auto n_wp = static_cast<std::int64_t>(waypoints.size());
    RowMatrixD dist(n_wp, n);
    parallel_for(n_wp, 8, options.threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        for (std::int64_t w = begin; w < end; ++w) dist.row(w) = shortest_paths_from(adj, waypoints[static_cast<std::size_t>(w)]).transpose();
    });
    // Gaussian weights, bandwidth 1.06 sd N^(-1/5) over all waypoint-cell distances; columns sum to 1
    const double count = static_cast<double>(dist.size());
    const double mean = dist.mean();
    const double sd = std::sqrt((dist.array() - mean).square().sum() / count);
    const double bandwidth = sd * 1.06 * std::pow(count, -0.2);
    RowMatrixD weight = (-0.5 * (dist.array() / bandwidth).square()).exp().matrix();
    const Eigen::RowVectorXd column_sums = weight.colwise().sum();
    for (Eigen::Index c = 0; c < n; ++c) weight.col(c) /= column_sums(c);

    Eigen::VectorXd t = dist.row(0).transpose();
    std::int64_t iteration = 1;
    bool converged = false;
    while (!converged && iteration < options.max_iterations) {
        Eigen::VectorXd next = Eigen::VectorXd::Zero(n);
        for (std::int64_t w = 0; w < n_wp; ++w) {
            const double t_wp = w == 0 ? 0.0 : t(waypoints[static_cast<std::size_t>(w)]);
            const double t_wp_sign = t(waypoints[static_cast<std::size_t>(w)]); // before the start's reset
            for (std::int64_t c = 0; c < n; ++c) {
                // a cell before the waypoint lies on the near side: its distance counts negative
                const double sign = (w != 0 && t(c) < t_wp_sign) ? -1.0 : 1.0;
                next(c) += (dist(w, c) * sign + t_wp) * weight(w, c);
            }
        }
        converged = pearson(t, next) > kConverged;
        t = next;
        ++iteration;
    }
    r.iterations = iteration - 1;
    t.array() -= t.minCoeff();
    t /= t.maxCoeff();
    r.pseudotime = t;
    return r;
}

PalantirResult run_palantir(const RowMatrixF& x, std::int64_t early_cell, const PalantirOptions& options) {
    const std::int64_t n = x.rows();
    if (n <= options.kernel_knn)
        throw Error(fmt::format("Palantir: {} cells, more than knn = {} needed", n, options.kernel_knn));
    if (early_cell < 0 || early_cell >= n)
        throw Error(fmt::format("Palantir: early cell {} is not among the {} cells", early_cell, n));
    PalantirResult r;
    r.representation = scanpy_pca_representation(x, options.n_pcs, options.threads);
    KnnSearchOptions ko;
    ko.n_neighbors = options.kernel_knn;
    ko.threads = options.threads;
    r.kernel = palantir_kernel(find_nearest_neighbors(r.representation, ko));
    r.diffmap = palantir_diffusion_map(r.kernel, options.n_components);
    r.multiscale = palantir_multiscale_space(r.diffmap);
    // sklearn's minmax_scale per component
    r.scaled = r.multiscale;
    for (Eigen::Index j = 0; j < r.scaled.cols(); ++j) {
        const double lo = r.scaled.col(j).minCoeff(), hi = r.scaled.col(j).maxCoeff();
        r.scaled.col(j) = (r.scaled.col(j).array() - lo) / (hi > lo ? hi - lo : 1.0);
    }
    r.start_cell = palantir_start_cell(r.scaled, early_cell);
    r.waypoints = palantir_waypoints(r.scaled, r.start_cell, options.num_waypoints, options.seed);
    auto po = options.pseudotime;
    po.threads = options.threads;
    r.pseudotime = palantir_pseudotime(r.scaled, r.waypoints, po);
    return r;
}

} // namespace scx
