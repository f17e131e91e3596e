#include "scextract/baselines/knn_search.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace scx {

namespace {

constexpr std::int64_t kQueryBlock = 128;

/// Euclidean distance in double, summed in dimension order.
double distance(const RowMatrixD& x, std::int64_t a, std::int64_t b) {
    return std::sqrt((x.row(a) - x.row(b)).squaredNorm());
}

/// Writes row @p i of the graph: the cell itself, then the n - 1 nearest of @p candidates
/// (other cells), re-measured exactly and ordered by (distance, index).
void fill_row(const RowMatrixD& x, std::int64_t i, std::vector<std::pair<double, std::int64_t>>& candidates,
              KnnGraph& g) {
    for (auto& [d, j] : candidates) d = distance(x, i, j);
    const auto k = static_cast<std::size_t>(g.index.cols() - 1);
    if (candidates.size() < k)
        throw Error(fmt::format("kNN: only {} neighbours found for cell {}, {} needed; use the exact search",
                                candidates.size(), i, k));
    const auto mid = candidates.begin() + static_cast<std::ptrdiff_t>(k);
    std::partial_sort(candidates.begin(), mid, candidates.end());
    g.index(i, 0) = i;
    g.distance(i, 0) = 0.0;
    for (std::size_t c = 0; c < k; ++c) {
        g.index(i, static_cast<Eigen::Index>(c + 1)) = candidates[c].second;
        g.distance(i, static_cast<Eigen::Index>(c + 1)) = candidates[c].first;
    }
}

/// Brute force: squared distances of a block of rows to all rows via the Gram trick
/// (screening only), then the nearest are re-measured exactly in fill_row(). The screen
/// keeps a margin of candidates so that rounding in the trick cannot drop a true neighbour.
void exact_search(const RowMatrixD& x, KnnGraph& g, int threads) {
    const std::int64_t n = x.rows(), k = g.index.cols() - 1;
    const Eigen::VectorXd norms = x.rowwise().squaredNorm();
    const double largest_norm = norms.maxCoeff();
    const std::int64_t keep = std::min(n - 1, 2 * k + 8);
    parallel_for(n, kQueryBlock, threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        const Eigen::MatrixXd dots = x.middleRows(begin, end - begin) * x.transpose();
        std::vector<std::pair<double, std::int64_t>> all;
        all.reserve(static_cast<std::size_t>(n));
        for (std::int64_t i = begin; i < end; ++i) {
            all.clear();
            for (std::int64_t j = 0; j < n; ++j)
                if (j != i) all.emplace_back(norms(i) + norms(j) - 2.0 * dots(i - begin, j), j);
            std::nth_element(all.begin(), all.begin() + (keep - 1), all.end());
            // everything within the screen's rounding of the keep-th candidate stays in
            const double cut = all[static_cast<std::size_t>(keep - 1)].first;
            const double slack = 1e-9 * (norms(i) + largest_norm) + 1e-12;
            std::vector<std::pair<double, std::int64_t>> cand;
            for (const auto& p : all)
                if (p.first <= cut + slack) cand.push_back(p);
            fill_row(x, i, cand, g);
        }
    });
}

void hnsw_search(const RowMatrixD& x, const KnnSearchOptions& o, KnnGraph& g, int threads) {
    const std::int64_t n = x.rows(), dim = x.cols(), k = g.index.cols();
    const RowMatrixF xf = x.cast<float>();
    hnswlib::L2Space space(static_cast<std::size_t>(dim));
    hnswlib::HierarchicalNSW<float> index(&space, static_cast<std::size_t>(n), static_cast<std::size_t>(o.hnsw_m),
                                          static_cast<std::size_t>(o.hnsw_ef_construction),
                                          static_cast<std::size_t>(o.seed));
    for (std::int64_t i = 0; i < n; ++i) index.addPoint(xf.row(i).data(), static_cast<hnswlib::labeltype>(i));
    index.setEf(static_cast<std::size_t>(std::max<std::int64_t>(o.hnsw_ef_search, k + 1)));
    parallel_for(n, kQueryBlock, threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        std::vector<std::pair<double, std::int64_t>> cand;
        for (std::int64_t i = begin; i < end; ++i) {
            auto heap = index.searchKnn(xf.row(i).data(), static_cast<std::size_t>(k + 1));
            cand.clear();
            for (; !heap.empty(); heap.pop())
                if (static_cast<std::int64_t>(heap.top().second) != i)
                    cand.emplace_back(0.0, static_cast<std::int64_t>(heap.top().second));
            fill_row(x, i, cand, g);
        }
    });
}

} // namespace

KnnGraph find_nearest_neighbors(const RowMatrixF& x, const KnnSearchOptions& options) {
    const std::int64_t n = x.rows(), k = options.n_neighbors;
    if (k < 2 || k > n)
        throw Error(fmt::format("kNN: n_neighbors must be between 2 and the number of cells ({}), got {}", n, k));
    if (x.cols() < 1) throw Error("kNN: the data have no dimensions");
    if (!x.allFinite()) throw Error("kNN: the data hold NaN or infinite values");
    const int threads = options.threads > 0 ? options.threads : default_thread_count();
    KnnGraph g;
    g.index.resize(n, k);
    g.distance.resize(n, k);
    const RowMatrixD xd = x.cast<double>();
    const bool approximate = options.algorithm == KnnAlgorithm::hnsw ||
                             (options.algorithm == KnnAlgorithm::automatic && n >= options.exact_below);
    if (approximate) {
        hnsw_search(xd, options, g, threads);
    } else {
        exact_search(xd, g, threads);
    }
    g.approximate = approximate;
    return g;
}

} // namespace scx
