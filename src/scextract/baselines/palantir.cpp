#include "scextract/baselines/palantir.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"
#include "scextract/core/shortest_paths.hpp"
#include "scextract/baselines/diffusion_map.hpp"
#include "scextract/baselines/diffusion_pseudotime.hpp"
#include "scextract/baselines/numpy_generator.hpp"

#include <Eigen/SparseLU>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <queue>
#include <set>
#include <type_traits>
#include <utility>
#include <vector>

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

PalantirDiffusionMap palantir_diffusion_map(const SparseMatrixD& kernel, std::int64_t n_components, int threads) {
    // T = D^-1 K is similar to S = D^-1/2 K D^-1/2 (diffusion_map without density
    // normalisation); T's right eigenvectors are D^-1/2 u, rescaled to unit length.
    DiffusionMapOptions o;
    o.n_components = n_components;
    o.density_normalize = false;
    o.threads = threads;
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

namespace {

/// Palantir's distances from every waypoint over @p graph, its Gaussian weights and the
/// refinement loop, with the waypoints x cells matrices held in @p Stored (double, or float
/// for large data; every sum is in double either way).
template <class Stored>
PalantirPseudotime refine_pseudotime(const ShortestPathGraph& graph, const std::vector<std::int64_t>& waypoints,
                                     const PalantirPseudotimeOptions& options) {
    using Matrix = Eigen::Matrix<Stored, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const auto n_wp = static_cast<std::int64_t>(waypoints.size());
    const std::int64_t n = graph.size();
    Matrix dist(n_wp, n);
    parallel_for(n_wp, 8, options.threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        std::vector<double> row(std::is_same_v<Stored, double> ? 0 : static_cast<std::size_t>(n));
        for (std::int64_t w = begin; w < end; ++w) {
            if constexpr (std::is_same_v<Stored, double>) {
                graph.distances_from(waypoints[static_cast<std::size_t>(w)], dist.row(w).data());
            } else {
                graph.distances_from(waypoints[static_cast<std::size_t>(w)], row.data());
                for (std::int64_t c = 0; c < n; ++c) dist(w, c) = static_cast<float>(row[static_cast<std::size_t>(c)]);
            }
        }
    });
    // Gaussian weights, bandwidth 1.06 sd N^(-1/5) over all waypoint-cell distances; columns sum to 1
    const double count = static_cast<double>(dist.size());
    double mean = 0, sd = 0;
    if constexpr (std::is_same_v<Stored, double>) {
        mean = dist.mean();
        sd = std::sqrt((dist.array() - mean).square().sum() / count);
    } else { // in double, a waypoint's row at a time
        for (std::int64_t w = 0; w < n_wp; ++w) mean += dist.row(w).template cast<double>().sum();
        mean /= count;
        for (std::int64_t w = 0; w < n_wp; ++w) sd += (dist.row(w).template cast<double>().array() - mean).square().sum();
        sd = std::sqrt(sd / count);
    }
    const double bandwidth = sd * 1.06 * std::pow(count, -0.2);
    // cells in fixed blocks over the threads: each cell's weights and sums are one task's
    constexpr std::int64_t kCellBlock = 2048;
    Matrix weight(n_wp, n);
    parallel_for(n, kCellBlock, options.threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        RowMatrixD w = (-0.5 * (dist.middleCols(begin, end - begin).template cast<double>().array() / bandwidth).square()).exp().matrix();
        for (Eigen::Index c = 0; c < w.cols(); ++c) w.col(c) /= w.col(c).sum();
        weight.middleCols(begin, end - begin) = w.template cast<Stored>();
    });

    Eigen::VectorXd t = dist.row(0).transpose().template cast<double>();
    std::int64_t iteration = 1;
    bool converged = false;
    while (!converged && iteration < options.max_iterations) {
        Eigen::VectorXd next = Eigen::VectorXd::Zero(n);
        parallel_for(n, kCellBlock, options.threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
            for (std::int64_t w = 0; w < n_wp; ++w) { // each cell sums over the waypoints in order
                const double t_wp = w == 0 ? 0.0 : t(waypoints[static_cast<std::size_t>(w)]);
                const double t_wp_sign = t(waypoints[static_cast<std::size_t>(w)]); // before the start's reset
                for (std::int64_t c = begin; c < end; ++c) {
                    // a cell before the waypoint lies on the near side: its distance counts negative
                    const double sign = (w != 0 && t(c) < t_wp_sign) ? -1.0 : 1.0;
                    next(c) += (static_cast<double>(dist(w, c)) * sign + t_wp) * static_cast<double>(weight(w, c));
                }
            }
        });
        converged = pearson(t, next) > kConverged;
        t = next;
        ++iteration;
    }
    PalantirPseudotime r;
    r.iterations = iteration - 1;
    t.array() -= t.minCoeff();
    t /= t.maxCoeff();
    r.pseudotime = t;
    if (options.keep_weights) {
        if constexpr (std::is_same_v<Stored, double>) r.waypoint_weights = std::move(weight);
        else r.waypoint_weights = weight.template cast<double>();
    }
    return r;
}

} // namespace

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

    const ShortestPathGraph graph(adj);
    auto refined = n < options.float_matrices_from ? refine_pseudotime<double>(graph, waypoints, options)
                                                   : refine_pseudotime<float>(graph, waypoints, options);
    refined.added_edges = r.added_edges;
    return refined;
}

namespace {

/// _construct_markov_chain: the row-stochastic transition matrix on the waypoints @p wp (rows).
SparseMatrixD waypoint_markov_chain(const RowMatrixD& wp, const Eigen::VectorXd& t_wp, std::int64_t knn) {
    const auto n = wp.rows();
    const auto k = std::min<std::int64_t>(knn, n);
    RowMatrixD dist(n, k);
    RowMatrixI64 index(n, k);
    std::vector<std::pair<double, std::int64_t>> row(static_cast<std::size_t>(n));
    for (Eigen::Index i = 0; i < n; ++i) {
        for (Eigen::Index j = 0; j < n; ++j) row[static_cast<std::size_t>(j)] = {(wp.row(i) - wp.row(j)).norm(), j};
        std::partial_sort(row.begin(), row.begin() + k, row.end());
        for (std::int64_t c = 0; c < k; ++c) {
            dist(i, c) = row[static_cast<std::size_t>(c)].first;
            index(i, c) = row[static_cast<std::size_t>(c)].second;
        }
    }
    const auto adaptive_k = std::clamp<std::int64_t>(std::min<std::int64_t>(knn / 3 - 1, 30), 0, k - 1);
    const Eigen::VectorXd sd = dist.col(adaptive_k);
    std::vector<Eigen::Triplet<double>> edges;
    Eigen::VectorXd row_sum = Eigen::VectorXd::Zero(n);
    for (Eigen::Index i = 0; i < n; ++i)
        for (std::int64_t c = 0; c < k; ++c) {
            const auto j = index(i, c);
            const double z = dist(i, c);
            // scipy's find() drops the zero distances (the waypoint itself) with the dropped edges
            if (z == 0.0 || t_wp(j) < t_wp(i) - sd(i)) continue;
            const double a = std::exp(-z * z / (sd(i) * sd(i)) * 0.5 - z * z / (sd(j) * sd(j)) * 0.5);
            edges.emplace_back(static_cast<int>(i), static_cast<int>(j), a);
            row_sum(i) += a;
        }
    for (auto& e : edges) e = Eigen::Triplet<double>(e.row(), e.col(), e.value() / row_sum(e.row()));
    SparseMatrixD t(n, n);
    t.setFromTriplets(edges.begin(), edges.end());
    return t;
}

/// The stationary distribution of @p t (row-stochastic): pi (I - T) = 0 with sum(pi) = 1 by
/// sparse LU (one equation of the singular system replaced by the sum); where that fails (more
/// than one closed class), the limit of the lazy chain (I + T) / 2 from the uniform start.
Eigen::VectorXd stationary_distribution(const SparseMatrixD& t) {
    const auto n = t.rows();
    std::vector<Eigen::Triplet<double>> a;
    for (Eigen::Index i = 0; i < n; ++i) {
        a.emplace_back(static_cast<int>(n - 1), static_cast<int>(i), 1.0);
        if (i < n - 1) a.emplace_back(static_cast<int>(i), static_cast<int>(i), 1.0);
    }
    for (int o = 0; o < t.outerSize(); ++o)
        for (SparseMatrixD::InnerIterator it(t, o); it; ++it)
            if (it.col() < n - 1) a.emplace_back(static_cast<int>(it.col()), static_cast<int>(it.row()), -it.value());
    SparseMatrixD m(n, n);
    m.setFromTriplets(a.begin(), a.end());
    Eigen::SparseLU<SparseMatrixD> lu;
    lu.compute(m);
    if (lu.info() == Eigen::Success) {
        Eigen::VectorXd rhs = Eigen::VectorXd::Zero(n);
        rhs(n - 1) = 1.0;
        const Eigen::VectorXd p = lu.solve(rhs);
        if (lu.info() == Eigen::Success && p.allFinite() && (t.transpose() * p - p).cwiseAbs().sum() < 1e-9) return p;
    }
    const SparseMatrixD tt = t.transpose();
    Eigen::VectorXd p = Eigen::VectorXd::Constant(n, 1.0 / static_cast<double>(n));
    for (int it = 0; it < 20000; ++it) {
        Eigen::VectorXd next = 0.5 * (p + tt * p);
        next /= next.sum();
        const double change = (next - p).cwiseAbs().sum();
        p = std::move(next);
        if (change < 1e-12) break;
    }
    return p;
}

double median_of(std::vector<double> v) {
    const auto m = v.size() / 2;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m), v.end());
    const double hi = v[m];
    if (v.size() % 2 == 1) return hi;
    return 0.5 * (hi + *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m)));
}

/// _terminal_states_from_markov_chain, as positions among the waypoints, increasing.
std::vector<std::int64_t> terminal_waypoints(const SparseMatrixD& t, const RowMatrixD& wp, const Eigen::VectorXd& t_wp) {
    constexpr double kPpf09999 = 3.7190164854556804; // scipy.stats.norm.ppf(0.9999)
    const auto n = wp.rows();
    const Eigen::VectorXd ranks = stationary_distribution(t).cwiseAbs();
    const std::vector<double> r(ranks.data(), ranks.data() + n);
    const double med = median_of(r);
    std::vector<double> dev(r.size());
    for (std::size_t i = 0; i < r.size(); ++i) dev[i] = std::abs(r[i] - med);
    const double mad = median_of(dev);
    if (!(mad > 0.0)) return {}; // norm.ppf with scale 0 is NaN: no cell passes
    const double cutoff = med + kPpf09999 * mad;
    std::vector<std::int64_t> cells;
    std::vector<std::int64_t> position(static_cast<std::size_t>(n), -1);
    for (Eigen::Index i = 0; i < n; ++i)
        if (ranks(i) > cutoff) {
            position[static_cast<std::size_t>(i)] = static_cast<std::int64_t>(cells.size());
            cells.push_back(i);
        }
    // weakly connected components of the chain among those cells, numbered by first cell
    std::vector<std::int64_t> label(cells.size(), -1);
    std::vector<std::vector<std::int64_t>> nbrs(cells.size());
    for (int o = 0; o < t.outerSize(); ++o)
        for (SparseMatrixD::InnerIterator it(t, o); it; ++it) {
            const auto a = position[static_cast<std::size_t>(it.row())], b = position[static_cast<std::size_t>(it.col())];
            if (a >= 0 && b >= 0 && it.value() != 0.0) {
                nbrs[static_cast<std::size_t>(a)].push_back(b);
                nbrs[static_cast<std::size_t>(b)].push_back(a);
            }
        }
    std::int64_t n_comp = 0;
    for (std::size_t s = 0; s < cells.size(); ++s) {
        if (label[s] >= 0) continue;
        std::vector<std::int64_t> stack(1, static_cast<std::int64_t>(s));
        label[s] = n_comp;
        while (!stack.empty()) {
            const auto u = stack.back();
            stack.pop_back();
            for (const auto v : nbrs[static_cast<std::size_t>(u)])
                if (label[static_cast<std::size_t>(v)] < 0) label[static_cast<std::size_t>(v)] = n_comp, stack.push_back(v);
        }
        ++n_comp;
    }
    const auto boundaries = component_extremes(wp);
    std::set<std::int64_t> terminal;
    for (std::int64_t c = 0; c < n_comp; ++c) {
        std::int64_t latest = -1; // the first cell of the largest pseudotime (pandas' idxmax)
        for (std::size_t i = 0; i < cells.size(); ++i)
            if (label[i] == c && (latest < 0 || t_wp(cells[i]) > t_wp(latest))) latest = cells[i];
        std::int64_t nearest = -1;
        double best = std::numeric_limits<double>::infinity();
        for (const auto b : boundaries) {
            const double d = (wp.row(b) - wp.row(latest)).norm();
            if (d < best) best = d, nearest = b;
        }
        terminal.insert(nearest);
    }
    return {terminal.begin(), terminal.end()};
}

} // namespace

PalantirFates palantir_fates(const RowMatrixD& scaled, const std::vector<std::int64_t>& waypoints,
                             const PalantirPseudotime& pseudotime, std::int64_t knn) {
    const auto n_wp = static_cast<Eigen::Index>(waypoints.size());
    const auto n = scaled.rows();
    if (n_wp < 2 || pseudotime.waypoint_weights.rows() != n_wp || pseudotime.waypoint_weights.cols() != n)
        throw Error(fmt::format("Palantir: fate probabilities need the weights of {} waypoints x {} cells", n_wp, n));
    if (knn < 2) throw Error("Palantir: the Markov chain needs knn >= 2");
    RowMatrixD wp(n_wp, scaled.cols());
    Eigen::VectorXd t_wp(n_wp);
    for (Eigen::Index i = 0; i < n_wp; ++i) {
        wp.row(i) = scaled.row(waypoints[static_cast<std::size_t>(i)]);
        t_wp(i) = pseudotime.pseudotime(waypoints[static_cast<std::size_t>(i)]);
    }
    SparseMatrixD t = waypoint_markov_chain(wp, t_wp, knn);
    const auto abs_states = terminal_waypoints(t, wp, t_wp);
    PalantirFates f;
    for (const auto a : abs_states) f.terminal_states.push_back(waypoints[static_cast<std::size_t>(a)]);
    // terminal states in increasing cell order (waypoints after the start are increasing)
    std::vector<std::size_t> order(abs_states.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return f.terminal_states[a] < f.terminal_states[b]; });
    std::vector<std::int64_t> abs_sorted;
    for (const auto o : order) abs_sorted.push_back(abs_states[o]);
    std::sort(f.terminal_states.begin(), f.terminal_states.end());
    const auto n_abs = static_cast<Eigen::Index>(abs_sorted.size());

    RowMatrixD wp_probs = RowMatrixD::Zero(n_wp, n_abs);
    if (n_abs > 0) {
        std::vector<std::int64_t> column(static_cast<std::size_t>(n_wp), -1), trans_pos(static_cast<std::size_t>(n_wp), -1);
        for (Eigen::Index c = 0; c < n_abs; ++c) column[static_cast<std::size_t>(abs_sorted[static_cast<std::size_t>(c)])] = c;
        std::vector<std::int64_t> trans;
        for (Eigen::Index i = 0; i < n_wp; ++i)
            if (column[static_cast<std::size_t>(i)] < 0) {
                trans_pos[static_cast<std::size_t>(i)] = static_cast<std::int64_t>(trans.size());
                trans.push_back(i);
            }
        const auto n_tr = static_cast<Eigen::Index>(trans.size());
        if (n_tr > 0) {
            std::vector<Eigen::Triplet<double>> iq, rt;
            for (Eigen::Index i = 0; i < n_tr; ++i) iq.emplace_back(static_cast<int>(i), static_cast<int>(i), 1.0);
            for (int o = 0; o < t.outerSize(); ++o)
                for (SparseMatrixD::InnerIterator it(t, o); it; ++it) {
                    const auto r = trans_pos[static_cast<std::size_t>(it.row())];
                    if (r < 0) continue; // absorbing rows lose their edges
                    if (const auto c = trans_pos[static_cast<std::size_t>(it.col())]; c >= 0)
                        iq.emplace_back(static_cast<int>(r), static_cast<int>(c), -it.value());
                    else rt.emplace_back(static_cast<int>(r), static_cast<int>(column[static_cast<std::size_t>(it.col())]), it.value());
                }
            SparseMatrixD a(n_tr, n_tr), rhs(n_tr, n_abs);
            a.setFromTriplets(iq.begin(), iq.end());
            rhs.setFromTriplets(rt.begin(), rt.end());
            Eigen::SparseLU<SparseMatrixD> lu;
            lu.compute(a);
            if (lu.info() != Eigen::Success) throw Error("Palantir: the absorbing Markov chain's I - Q is singular");
            const Eigen::MatrixXd b = lu.solve(Eigen::MatrixXd(rhs));
            for (Eigen::Index i = 0; i < n_tr; ++i)
                for (Eigen::Index c = 0; c < n_abs; ++c) wp_probs(trans[static_cast<std::size_t>(i)], c) = std::max(0.0, b(i, c));
        }
        for (Eigen::Index c = 0; c < n_abs; ++c) wp_probs(abs_sorted[static_cast<std::size_t>(c)], c) = 1.0;
    }
    f.probabilities = pseudotime.waypoint_weights.transpose() * wp_probs;
    f.entropy = Eigen::VectorXd::Zero(n);
    for (Eigen::Index i = 0; i < n; ++i) {
        const double s = f.probabilities.row(i).sum();
        if (n_abs == 0) continue;
        if (!(s > 0.0)) {
            f.entropy(i) = std::numeric_limits<double>::quiet_NaN(); // scipy: 0 / 0
            continue;
        }
        double h = 0.0;
        for (Eigen::Index c = 0; c < n_abs; ++c) {
            const double p = f.probabilities(i, c) / s;
            if (p > 0.0) h -= p * std::log(p);
        }
        f.entropy(i) = h;
    }
    // palantir's PResults zeroes probabilities below 0.01 in place, after the entropy, and
    // that frame is what run_palantir stores
    f.probabilities = (f.probabilities.array() < 0.01).select(0.0, f.probabilities);
    return f;
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
    r.diffmap = palantir_diffusion_map(r.kernel, options.n_components, options.threads);
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
    po.keep_weights = options.fates; // 9.6 GB at 1M cells, needed by the fates alone
    r.pseudotime = palantir_pseudotime(r.scaled, r.waypoints, po);
    if (options.fates) r.fates = palantir_fates(r.scaled, r.waypoints, r.pseudotime, po.knn);
    return r;
}

} // namespace scx
