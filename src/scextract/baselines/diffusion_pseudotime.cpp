#include "scextract/baselines/diffusion_pseudotime.hpp"

#include "scextract/core/error.hpp"
#include "scextract/baselines/pca_projection.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace scx {

namespace {
constexpr double kStationaryEigenvalue = 0.9994; // scanpy's cut "for float32 precision"
}

Eigen::VectorXd diffusion_pseudotime(const DiffusionMapResult& map, std::int64_t root,
                                     const DiffusionPseudotimeOptions& options) {
    const std::int64_t n = map.eigenvectors.rows();
    if (root < 0 || root >= n) throw Error(fmt::format("DPT: root cell {} is not among the {} cells", root, n));
    const std::int64_t dcs = std::min<std::int64_t>(options.n_dcs, map.eigenvalues.size());
    Eigen::VectorXd row = Eigen::VectorXd::Zero(n);
    for (std::int64_t l = 0; l < dcs; ++l) {
        const double lambda = map.eigenvalues(l);
        const double scale = lambda < kStationaryEigenvalue ? lambda / (1.0 - lambda) : 1.0;
        for (std::int64_t i = 0; i < n; ++i) {
            const double d = scale * (map.eigenvectors(root, l) - map.eigenvectors(i, l));
            row(i) += d * d;
        }
    }
    const auto root_component = map.graph_component.empty() ? 0 : map.graph_component[static_cast<std::size_t>(root)];
    double largest = 0.0;
    for (std::int64_t i = 0; i < n; ++i) {
        const bool reachable = map.graph_component.empty() || map.graph_component[static_cast<std::size_t>(i)] == root_component;
        row(i) = reachable ? std::sqrt(row(i)) : std::numeric_limits<double>::infinity();
        if (reachable) largest = std::max(largest, row(i));
    }
    if (largest > 0.0)
        for (std::int64_t i = 0; i < n; ++i)
            if (std::isfinite(row(i))) row(i) /= largest;
    return row;
}

RowMatrixF scanpy_pca_representation(const RowMatrixF& x, std::int64_t n_pcs, int threads) {
    const std::int64_t n = x.rows(), g = x.cols();
    if (g <= n_pcs) return x; // scanpy's _choose_representation: small X is used directly
    PcaProjectionOptions po;
    po.n_components = std::min({n_pcs, n - 1, g - 1});
    po.center = true;
    po.threads = threads;
    return fit_pca_projection(x, po).scores;
}

ScanpyDptResult scanpy_dpt(const RowMatrixF& x, std::int64_t root, const ScanpyDptOptions& options) {
    const std::int64_t n = x.rows();
    if (n <= options.knn.n_neighbors)
        throw Error(fmt::format("DPT: {} cells, more than n_neighbors = {} needed", n, options.knn.n_neighbors));
    if (root < 0 || root >= n) throw Error(fmt::format("DPT: root cell {} is not among the {} cells", root, n));
    ScanpyDptResult r;
    r.representation = scanpy_pca_representation(x, options.n_pcs, options.threads);
    KnnSearchOptions ko = options.knn;
    ko.threads = options.threads;
    r.knn = find_nearest_neighbors(r.representation, ko);
    r.connectivities = neighbor_connectivities(r.knn, options.kernel);
    DiffusionMapOptions mo = options.diffmap;
    mo.threads = options.threads;
    r.diffmap = diffusion_map(r.connectivities, mo);
    r.pseudotime = diffusion_pseudotime(r.diffmap, root, options.dpt);
    return r;
}

} // namespace scx
