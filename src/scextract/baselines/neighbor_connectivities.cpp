#include "scextract/baselines/neighbor_connectivities.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace scx {

namespace {

// umap-learn's constants (umap/umap_.py)
constexpr double kSmoothKTolerance = 1e-5;
constexpr double kMinKDistScale = 1e-3;
constexpr int kBinarySearchSteps = 64;

/// rho and sigma of one cell from its sorted neighbour distances (column 0 is the cell).
std::pair<double, double> smooth_knn_distance(const Eigen::VectorXd& d, double mean_all) {
    const Eigen::Index k = d.size();
    const double target = std::log2(static_cast<double>(k));
    double rho = 0.0;
    for (Eigen::Index j = 0; j < k; ++j)
        if (d(j) > 0.0) {
            rho = d(j); // local_connectivity 1: the first non-zero distance
            break;
        }
    double lo = 0.0, hi = std::numeric_limits<float>::max(), mid = 1.0;
    for (int step = 0; step < kBinarySearchSteps; ++step) {
        double psum = 0.0;
        for (Eigen::Index j = 1; j < k; ++j) {
            const double x = static_cast<double>(static_cast<float>(d(j) - rho)); // float32, as umap
            psum += x > 0.0 ? std::exp(-(x / mid)) : 1.0;
        }
        if (std::fabs(psum - target) < kSmoothKTolerance) break;
        if (psum > target) {
            hi = mid;
            mid = (lo + hi) / 2.0;
        } else {
            lo = mid;
            mid = hi >= std::numeric_limits<float>::max() ? mid * 2.0 : (lo + hi) / 2.0;
        }
    }
    double sigma = static_cast<float>(mid);
    const double floor = kMinKDistScale * (rho > 0.0 ? d.mean() : mean_all);
    if (sigma < floor) sigma = floor;
    return {rho, sigma};
}

SparseMatrixD from_triplets(std::int64_t n, std::vector<Eigen::Triplet<double>>& t) {
    SparseMatrixD m(n, n);
    m.setFromTriplets(t.begin(), t.end());
    m.makeCompressed();
    return m;
}

} // namespace

SparseMatrixD umap_connectivities(const KnnGraph& knn) {
    const std::int64_t n = knn.index.rows(), k = knn.index.cols();
    // float32 distances, as fuzzy_simplicial_set casts them
    const RowMatrixD d = knn.distance.cast<float>().cast<double>();
    const double mean_all = d.mean();
    std::vector<Eigen::Triplet<double>> t;
    t.reserve(static_cast<std::size_t>(n * k));
    for (std::int64_t i = 0; i < n; ++i) {
        const Eigen::VectorXd row = d.row(i).transpose();
        const auto [rho, sigma] = smooth_knn_distance(row, mean_all);
        for (std::int64_t j = 0; j < k; ++j) {
            const std::int64_t c = knn.index(i, j);
            if (c == i) continue; // membership 0: dropped by eliminate_zeros
            const double x = row(j) - rho;
            const double w = (x <= 0.0 || sigma == 0.0) ? 1.0 : std::exp(-(x / sigma));
            if (w != 0.0) t.emplace_back(static_cast<int>(i), static_cast<int>(c), w);
        }
    }
    const SparseMatrixD a = from_triplets(n, t);
    const SparseMatrixD at = a.transpose();
    SparseMatrixD u = a + at - SparseMatrixD(a.cwiseProduct(at));
    u.prune(0.0);
    return u;
}

SparseMatrixD gauss_connectivities(const KnnGraph& knn) {
    const std::int64_t n = knn.index.rows(), k = knn.index.cols();
    Eigen::VectorXd sigma_sq(n);
    std::vector<double> sq(static_cast<std::size_t>(k - 1));
    for (std::int64_t i = 0; i < n; ++i) {
        for (std::int64_t j = 1; j < k; ++j) sq[static_cast<std::size_t>(j - 1)] = knn.distance(i, j) * knn.distance(i, j);
        std::sort(sq.begin(), sq.end());
        const std::size_t m = sq.size();
        sigma_sq(i) = m % 2 == 1 ? sq[m / 2] : 0.5 * (sq[m / 2 - 1] + sq[m / 2]); // numpy's median
    }
    std::vector<Eigen::Triplet<double>> t;
    t.reserve(static_cast<std::size_t>(2 * n * (k - 1)));
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 1; j < k; ++j) {
            const std::int64_t c = knn.index(i, j);
            const double den = sigma_sq(i) + sigma_sq(c);
            const double w = std::sqrt(2.0 * std::sqrt(sigma_sq(i) * sigma_sq(c)) / den) *
                             std::exp(-(knn.distance(i, j) * knn.distance(i, j)) / den);
            t.emplace_back(static_cast<int>(i), static_cast<int>(c), w);
        }
    const SparseMatrixD m = from_triplets(n, t);
    const SparseMatrixD mt = m.transpose();
    // add the reverse of each one-sided edge: where m(i,j) is absent, take m(j,i)
    SparseMatrixD pattern_m = m;
    for (int c = 0; c < pattern_m.outerSize(); ++c)
        for (SparseMatrixD::InnerIterator it(pattern_m, c); it; ++it) it.valueRef() = 1.0;
    SparseMatrixD only_t = mt - SparseMatrixD(mt.cwiseProduct(pattern_m));
    only_t.prune(0.0);
    SparseMatrixD w = m + only_t;
    w.makeCompressed();
    return w;
}

SparseMatrixD neighbor_connectivities(const KnnGraph& knn, ConnectivityKernel kernel) {
    return kernel == ConnectivityKernel::umap ? umap_connectivities(knn) : gauss_connectivities(knn);
}

} // namespace scx
