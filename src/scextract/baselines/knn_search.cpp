#include "scextract/baselines/knn_search.hpp"

#include "scextract/baselines/nn_descent.hpp"
#include "scextract/core/blas_threads.hpp"
#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"

#include <cblas.h>
#include <hnswlib/hnswlib.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace scx {

namespace {

constexpr std::int64_t kQueryBlock = 128;
// Exact search by k-d tree where it beats brute force: few dimensions (Palantir's multiscale
// space has about 10) and enough cells for the tree to pay.
constexpr std::int64_t kKdTreeDimensions = 16;
constexpr std::int64_t kKdTreeCells = 4096;

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

/// Keeps in @p heap (a max-heap) the @p k smallest of the values offered to it.
template <class T>
void keep_smallest(std::vector<T>& heap, std::size_t k, const T& v) {
    if (heap.size() < k) {
        heap.push_back(v);
        std::push_heap(heap.begin(), heap.end());
    } else if (v < heap.front()) {
        std::pop_heap(heap.begin(), heap.end());
        heap.back() = v;
        std::push_heap(heap.begin(), heap.end());
    }
}

/// Exact search in few dimensions: a k-d tree (median splits on the widest coordinate) whose
/// queries keep the k + 2 nearest by squared distance and skip a half only when its splitting
/// plane is strictly farther than the current k + 2-th; fill_row() then ranks them exactly as
/// brute force does, so the result is the same graph.
class KdTree {
public:
    explicit KdTree(const RowMatrixD& x) : x_(x), order_(static_cast<std::size_t>(x.rows())) {
        for (std::int64_t i = 0; i < x.rows(); ++i) order_[static_cast<std::size_t>(i)] = i;
        build(0, x.rows());
    }

    /// The @p keep nearest cells to cell @p i other than itself, appended to @p out.
    void nearest(std::int64_t i, std::int64_t keep, std::vector<std::pair<double, std::int64_t>>& out) const {
        out.clear();
        search(0, i, keep, out);
    }

private:
    struct Node {
        std::int64_t begin, end; // cells order_[begin, end)
        int dim = -1;            // -1: a leaf
        double split = 0.0;
        std::int32_t left = -1, right = -1;
    };
    static constexpr std::int64_t kLeaf = 16;

    std::int32_t build(std::int64_t begin, std::int64_t end) {
        const auto id = static_cast<std::int32_t>(nodes_.size());
        nodes_.push_back({begin, end});
        if (end - begin <= kLeaf) return id;
        int widest = 0;
        double width = -1.0;
        for (int d = 0; d < x_.cols(); ++d) {
            double lo = x_(order_[static_cast<std::size_t>(begin)], d), hi = lo;
            for (auto p = begin; p < end; ++p) {
                const double v = x_(order_[static_cast<std::size_t>(p)], d);
                lo = std::min(lo, v);
                hi = std::max(hi, v);
            }
            if (hi - lo > width) width = hi - lo, widest = d;
        }
        if (width <= 0.0) return id; // all alike: one leaf
        const auto first = order_.begin() + begin, last = order_.begin() + end, mid = first + (end - begin) / 2;
        std::nth_element(first, mid, last, [&](std::int64_t a, std::int64_t b) {
            return x_(a, widest) < x_(b, widest) || (x_(a, widest) == x_(b, widest) && a < b);
        });
        nodes_[static_cast<std::size_t>(id)].dim = widest;
        nodes_[static_cast<std::size_t>(id)].split = x_(*mid, widest);
        const auto cut = begin + (end - begin) / 2;
        const auto left = build(begin, cut);
        const auto right = build(cut, end);
        nodes_[static_cast<std::size_t>(id)].left = left;
        nodes_[static_cast<std::size_t>(id)].right = right;
        return id;
    }

    void search(std::int32_t id, std::int64_t i, std::int64_t keep, std::vector<std::pair<double, std::int64_t>>& heap) const {
        const Node& node = nodes_[static_cast<std::size_t>(id)];
        if (node.dim < 0) {
            for (auto p = node.begin; p < node.end; ++p) {
                const auto j = order_[static_cast<std::size_t>(p)];
                if (j == i) continue;
                keep_smallest(heap, static_cast<std::size_t>(keep),
                              std::pair<double, std::int64_t>{(x_.row(i) - x_.row(j)).squaredNorm(), j});
            }
            return;
        }
        const double diff = x_(i, node.dim) - node.split;
        search(diff < 0.0 ? node.left : node.right, i, keep, heap);
        if (static_cast<std::int64_t>(heap.size()) < keep || diff * diff <= heap.front().first)
            search(diff < 0.0 ? node.right : node.left, i, keep, heap);
    }

    const RowMatrixD& x_;
    std::vector<std::int64_t> order_;
    std::vector<Node> nodes_;
};

/// Every row of the graph from its candidates: @p gather(i, cand) fills cand with other
/// cells (distances are measured again by fill_row()). Rows are independent, so any thread
/// count gives the same graph.
template <class Gather>
void rank_candidates(const RowMatrixD& x, KnnGraph& g, int threads, Gather&& gather) {
    parallel_for(x.rows(), kQueryBlock, threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        std::vector<std::pair<double, std::int64_t>> cand;
        for (std::int64_t i = begin; i < end; ++i) {
            cand.clear();
            gather(i, cand);
            fill_row(x, i, cand, g);
        }
    });
}

void kd_tree_search(const RowMatrixD& x, KnnGraph& g, int threads) {
    const std::int64_t keep = std::min(x.rows() - 1, g.index.cols() - 1 + 2);
    const KdTree tree(x);
    rank_candidates(x, g, threads, [&](std::int64_t i, auto& cand) { tree.nearest(i, keep, cand); });
}

// rows of one task of the GEMM screen, and cells screened per GEMM (a 2 MB tile): at 100,000
// cells x 50 dimensions 256 x 2,048 took 9.0 s, 64 x 2,048 12.3 s (sgemm repacking the
// tile for every few rows), 256 x 1,024 9.6 s, 128 x 4,096 9.5 s
constexpr std::int64_t kScreenRows = 256;
constexpr std::int64_t kScreenColumns = 2048;

/// The GEMM screen's running state for one row: the k smallest screened values (a max-heap)
/// and every cell that came within the margin of the k-th smallest when it was seen.
struct ScreenRow {
    std::vector<float> heap;
    std::vector<std::pair<float, std::int64_t>> kept;
    float margin = 0.0F;

    float threshold(std::size_t k) const {
        return heap.size() < k ? std::numeric_limits<float>::infinity() : heap.front() + margin;
    }
    void offer(float v, std::int64_t j, std::size_t k) {
        kept.emplace_back(v, j);
        keep_smallest(heap, k, v);
        if (kept.size() > 8 * k + 64) prune(k);
    }
    void prune(std::size_t k) {
        const float t = threshold(k);
        kept.erase(std::remove_if(kept.begin(), kept.end(), [t](const auto& p) { return p.first > t; }), kept.end());
    }
};

/// Scans one screened row of a tile: v_j = tile_j + |x_j|^2, offered where v_j is within the
/// threshold (four at a time with SSE2, where the compiler has it).
void scan_tile_row(const float* tile, const float* norms, std::int64_t first, std::int64_t cols, std::int64_t self,
                   std::size_t k, ScreenRow& row) {
    std::int64_t j = 0;
#if defined(__SSE2__)
    for (; j + 4 <= cols; j += 4) {
        const __m128 v = _mm_add_ps(_mm_loadu_ps(tile + j), _mm_loadu_ps(norms + j));
        if (_mm_movemask_ps(_mm_cmple_ps(v, _mm_set1_ps(row.threshold(k)))) == 0) continue;
        for (std::int64_t q = j; q < j + 4; ++q) {
            const float w = tile[q] + norms[q];
            if (w <= row.threshold(k) && first + q != self) row.offer(w, first + q, k);
        }
    }
#endif
    for (; j < cols; ++j) {
        const float w = tile[j] + norms[j];
        if (w <= row.threshold(k) && first + j != self) row.offer(w, first + j, k);
    }
}

/// Exact search in many dimensions: -2 x_i.x_j by single-precision GEMM (OpenBLAS, one
/// thread per task) plus |x_j|^2 screens a block of rows against every cell; whatever comes
/// within a margin of the k-th smallest that float's rounding cannot cross is re-measured in
/// double by fill_row(), which ranks exactly as brute force in double does. Each block is
/// screened alone, so the graph does not depend on the thread count.
void gemm_exact_search(const RowMatrixF& xf, const RowMatrixD& x, KnnGraph& g, int threads) {
    const std::int64_t n = x.rows(), dim = x.cols();
    const auto k = static_cast<std::size_t>(g.index.cols() - 1);
    const Eigen::VectorXf norms = xf.rowwise().squaredNorm();
    const float largest_norm = norms.maxCoeff();
    // float rounding of |x_j|^2 - 2 x_i.x_j is within about (dim + 2) eps (|x_i|^2 + 2 |x_j|^2);
    // the margin takes twice that for each of the two values compared, and then some
    const double relative = 8.0 * static_cast<double>(dim + 2) * std::numeric_limits<float>::epsilon();
    const SingleThreadedBlas one_blas_thread;
    parallel_for(n, kScreenRows, threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        const std::int64_t rows = end - begin;
        std::vector<float> tile(static_cast<std::size_t>(rows * kScreenColumns));
        std::vector<ScreenRow> screen(static_cast<std::size_t>(rows));
        for (std::int64_t r = 0; r < rows; ++r)
            screen[static_cast<std::size_t>(r)].margin =
                static_cast<float>(relative * (static_cast<double>(norms(begin + r)) + 2.0 * largest_norm)) + 1e-30F;
        for (std::int64_t c0 = 0; c0 < n; c0 += kScreenColumns) {
            const std::int64_t cols = std::min(kScreenColumns, n - c0);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(cols),
                        static_cast<int>(dim), -2.0F, xf.row(begin).data(), static_cast<int>(dim), xf.row(c0).data(),
                        static_cast<int>(dim), 0.0F, tile.data(), static_cast<int>(cols));
            for (std::int64_t r = 0; r < rows; ++r)
                scan_tile_row(tile.data() + r * cols, norms.data() + c0, c0, cols, begin + r, k,
                              screen[static_cast<std::size_t>(r)]);
        }
        std::vector<std::pair<double, std::int64_t>> cand;
        for (std::int64_t r = 0; r < rows; ++r) {
            auto& row = screen[static_cast<std::size_t>(r)];
            row.prune(k);
            cand.clear();
            for (const auto& [v, j] : row.kept) cand.emplace_back(0.0, j);
            fill_row(x, begin + r, cand, g);
        }
    });
}

void hnsw_search(const RowMatrixF& xf, const RowMatrixD& x, const KnnSearchOptions& o, KnnGraph& g, int threads) {
    const std::int64_t n = x.rows(), dim = x.cols(), k = g.index.cols();
    hnswlib::L2Space space(static_cast<std::size_t>(dim));
    hnswlib::HierarchicalNSW<float> index(&space, static_cast<std::size_t>(n), static_cast<std::size_t>(o.hnsw_m),
                                          static_cast<std::size_t>(o.hnsw_ef_construction),
                                          static_cast<std::size_t>(o.seed));
    for (std::int64_t i = 0; i < n; ++i) index.addPoint(xf.row(i).data(), static_cast<hnswlib::labeltype>(i));
    index.setEf(static_cast<std::size_t>(std::max<std::int64_t>(o.hnsw_ef_search, k + 1)));
    rank_candidates(x, g, threads, [&](std::int64_t i, auto& cand) {
        for (auto heap = index.searchKnn(xf.row(i).data(), static_cast<std::size_t>(k + 1)); !heap.empty(); heap.pop())
            if (static_cast<std::int64_t>(heap.top().second) != i)
                cand.emplace_back(0.0, static_cast<std::int64_t>(heap.top().second));
    });
}

void descent_search(const RowMatrixF& xf, const RowMatrixD& x, const KnnSearchOptions& o, KnnGraph& g, int threads) {
    const std::int64_t n = x.rows(), k = g.index.cols() - 1;
    NnDescentOptions d;
    d.n_neighbors = std::min(n - 1, o.descent_neighbors > 0 ? std::max(o.descent_neighbors, k) : 2 * k);
    d.seed = o.seed;
    d.threads = threads;
    const NnDescentResult found = nn_descent(xf, d);
    rank_candidates(x, g, threads, [&](std::int64_t i, auto& cand) {
        for (std::int64_t s = 0; s < d.n_neighbors; ++s)
            cand.emplace_back(0.0, found.index[static_cast<std::size_t>(i * d.n_neighbors + s)]);
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
    KnnAlgorithm algorithm = options.algorithm;
    if (algorithm == KnnAlgorithm::automatic)
        algorithm = n >= options.exact_below ? KnnAlgorithm::hnsw : KnnAlgorithm::exact;
    const bool approximate = algorithm != KnnAlgorithm::exact;
    if (algorithm == KnnAlgorithm::nn_descent) {
        descent_search(x, xd, options, g, threads);
    } else if (algorithm == KnnAlgorithm::hnsw) {
        hnsw_search(x, xd, options, g, threads);
    } else if (x.cols() <= kKdTreeDimensions && n >= kKdTreeCells) {
        kd_tree_search(xd, g, threads);
    } else if (n >= kKdTreeCells) {
        gemm_exact_search(x, xd, g, threads);
    } else {
        exact_search(xd, g, threads);
    }
    g.approximate = approximate;
    return g;
}

} // namespace scx
