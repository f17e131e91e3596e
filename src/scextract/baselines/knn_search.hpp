#pragma once
/// @file knn_search.hpp
/// @brief k-nearest-neighbour search in euclidean space, as scanpy's pp.neighbors finds
/// neighbours: exact (brute force) below 8192 cells, approximate above.
///
/// scanpy 1.11 takes the exact kNN for the euclidean metric below 8192 cells (scikit-learn's
/// brute-force KNeighborsTransformer) and PyNNDescent above. Our default approximate search
/// is hnswlib's HNSW graph: a substitute for PyNNDescent, with recall close to 1 at the
/// settings below, built by inserting the cells one by one in order (single-threaded, seeded);
/// only its queries run in parallel. NN-descent from a random-projection forest, PyNNDescent's
/// own algorithm (nn_descent.hpp), is the multithreaded alternative: about 3x faster at 100k
/// cells on 2 threads but with recall 0.988 instead of about 0.998, which moves DPT further
/// from the exact-kNN answer than the fidelity rule allows (docs/benchmarks.md), so it is
/// not the default. Every search re-measures its candidates in double before ranking them,
/// and none depends on the thread count.

#include "scextract/core/dense.hpp"

#include <Eigen/Dense>

#include <cstdint>

namespace scx {

/// Row-major int64 matrix (neighbour indices).
using RowMatrixI64 = Eigen::Matrix<std::int64_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// How neighbours are found.
enum class KnnAlgorithm {
    automatic,  ///< exact below KnnSearchOptions::exact_below cells, hnsw from there on (scanpy's rule)
    exact,      ///< brute force over all pairs
    nn_descent, ///< NN-descent from a random-projection forest, as PyNNDescent (multithreaded build)
    hnsw        ///< hnswlib's approximate search (single-threaded build, parallel queries)
};

/// Options of find_nearest_neighbors().
struct KnnSearchOptions {
    /// Neighbours per cell counting the cell itself, as scanpy's n_neighbors (default 15).
    std::int64_t n_neighbors = 15;
    KnnAlgorithm algorithm = KnnAlgorithm::automatic;
    std::int64_t exact_below = 8192; ///< scanpy: brute force for euclidean below 8192 cells
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
