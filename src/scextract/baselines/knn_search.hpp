#pragma once
/// @file knn_search.hpp
/// @brief k-nearest-neighbour search in euclidean space, as scanpy's pp.neighbors finds
/// neighbours: exact (brute force) below 8192 cells, approximate above.
///
/// scanpy 1.11 takes the exact kNN for the euclidean metric below 8192 cells (scikit-learn's
/// brute-force KNeighborsTransformer) and PyNNDescent above. Our approximate search is
/// hnswlib's HNSW graph instead of PyNNDescent: a substitute, not the same algorithm, with
/// recall close to 1 at the settings below. The graph is built by inserting the cells one by
/// one in order (single-threaded, seeded), and only the queries run in parallel, so the
/// result does not depend on the thread count.

#include "scextract/core/dense.hpp"

#include <Eigen/Dense>

#include <cstdint>

namespace scx {

/// Row-major int64 matrix (neighbour indices).
using RowMatrixI64 = Eigen::Matrix<std::int64_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// How neighbours are found.
enum class KnnAlgorithm {
    automatic, ///< exact below KnnSearchOptions::exact_below cells, hnsw from there on (scanpy's rule)
    exact,     ///< brute force over all pairs
    hnsw       ///< hnswlib's approximate search (our substitute for scanpy's PyNNDescent)
};

/// Options of find_nearest_neighbors().
struct KnnSearchOptions {
    /// Neighbours per cell counting the cell itself, as scanpy's n_neighbors (default 15).
    std::int64_t n_neighbors = 15;
    KnnAlgorithm algorithm = KnnAlgorithm::automatic;
    std::int64_t exact_below = 8192; ///< scanpy: brute force for euclidean below 8192 cells
    int hnsw_m = 16;                 ///< graph degree
    int hnsw_ef_construction = 200;
    int hnsw_ef_search = 100;        ///< raised to n_neighbors when smaller
    std::uint64_t seed = 0;          ///< hnswlib's level generator
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
