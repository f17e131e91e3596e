#pragma once
/// @file knn_search.hpp
/// @brief k-nearest-neighbour search in euclidean space, for scanpy's pp.neighbors and
/// Palantir: exact up to 262,144 cells, approximate above.
///
/// scanpy 1.11 takes the exact kNN for the euclidean metric below 8192 cells (scikit-learn's
/// brute-force KNeighborsTransformer) and PyNNDescent above, whose answer moves DPT from the
/// exact-kNN one (Spearman 0.973 at 100,000 cells, docs/benchmarks.md). The exact search here
/// stays faster than an approximate index well past that: by k-d tree in at most 16
/// dimensions, and otherwise by a single-precision GEMM screen re-measured in double (9 s at
/// 100,000 cells x 50 dimensions on 2 cores, where hnswlib takes 22 s), so the default keeps
/// it up to 262,144 cells, where its n^2 cost meets hnswlib's. Above, hnswlib's HNSW graph
/// (our substitute for PyNNDescent, recall about 0.997) is built by inserting the cells one by
/// one in order, single-threaded and seeded; only its queries run in parallel. NN-descent
/// from a random-projection forest, PyNNDescent's own algorithm (nn_descent.hpp), is the
/// multithreaded alternative: 4x faster than hnswlib at 100,000 cells but with recall 0.988,
/// which moves DPT further from the exact answer than the 0.99 fidelity rule allows, so it
/// is not a default. Every search re-measures its candidates in double before ranking them,
/// and none depends on the thread count.

#include "scextract/core/dense.hpp"

#include <Eigen/Dense>

#include <cstdint>

namespace scx {

/// Row-major int64 matrix (neighbour indices).
using RowMatrixI64 = Eigen::Matrix<std::int64_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// How neighbours are found.
enum class KnnAlgorithm {
    automatic,  ///< exact below KnnSearchOptions::exact_below cells, hnsw from there on
    exact,      ///< every pair considered (k-d tree in few dimensions, GEMM screen otherwise)
    nn_descent, ///< NN-descent from a random-projection forest, as PyNNDescent (multithreaded build)
    hnsw        ///< hnswlib's approximate search (single-threaded build, parallel queries)
};

/// Options of find_nearest_neighbors().
struct KnnSearchOptions {
    /// Neighbours per cell counting the cell itself, as scanpy's n_neighbors (default 15).
    std::int64_t n_neighbors = 15;
    KnnAlgorithm algorithm = KnnAlgorithm::automatic;
    /// automatic: exact below this many cells (scanpy: 8192; here exact is the faster up to
    /// about this many, and it is the answer an approximate kNN is judged against)
    std::int64_t exact_below = 262144;
    /// NN-descent's list length (the cell itself excluded); 0: 2 (n_neighbors - 1), which
    /// finds the n_neighbors - 1 nearest more often than a list of just that length
    std::int64_t descent_neighbors = 0;
    int hnsw_m = 16;                 ///< graph degree
    int hnsw_ef_construction = 200;
    int hnsw_ef_search = 100;        ///< raised to n_neighbors when smaller
    std::uint64_t seed = 0;          ///< NN-descent's hashes, hnswlib's level generator
    int threads = 0;                 ///< 0: the default thread count
};

/// Each cell's neighbours: column 0 is the cell itself at distance 0 (as scanpy's knn_indices),
/// then the other n_neighbors - 1 cells by increasing distance (ties by index).
struct KnnGraph {
    RowMatrixI64 index;    ///< cells x n_neighbors
    RowMatrixD distance;   ///< cells x n_neighbors, euclidean
    bool approximate = false;
};

/// Finds the neighbours of every row of @p x (cells x dimensions) among the rows of @p x.
/// Distances are computed in double. Throws scx::Error unless 2 <= n_neighbors <= rows.
KnnGraph find_nearest_neighbors(const RowMatrixF& x, const KnnSearchOptions& options = {});

} // namespace scx
