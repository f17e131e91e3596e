#pragma once
/// @file nn_descent.hpp
/// @brief Approximate k-nearest-neighbour graph by NN-descent (Dong, Charikar & Li 2011)
/// started from a random-projection forest, the algorithm PyNNDescent runs for scanpy.
///
/// Built so that the graph does not depend on the thread count: every random choice is a
/// hash of (seed, round, cell, neighbour) instead of a draw from a shared stream, and each
/// cell's list is the k best of everything proposed to it, ordered by (distance, index).
/// The k best of a set do not depend on the order in which the set arrives, so threads may
/// propose concurrently; each round works from the lists as they stood at its start.

#include "scextract/core/dense.hpp"

#include <cstdint>
#include <vector>

namespace scx {

/// Options of nn_descent().
struct NnDescentOptions {
    std::int64_t n_neighbors = 20;   ///< list length kept per cell (the cell itself excluded)
    std::int64_t max_candidates = 0; ///< new candidates joined per cell and round; 0: n_neighbors
    int n_trees = 0;                 ///< random-projection trees of the start; 0: 5 + n^0.25, at most 32
    std::int64_t leaf_size = 0;      ///< cells per leaf; 0: max(n_neighbors, 30)
    int max_rounds = 0;              ///< 0: max(5, round(log2 n)), as PyNNDescent
    double delta = 0.001;            ///< stop when fewer than delta * n * n_neighbors entries changed in a round
    std::uint64_t seed = 0;
    int threads = 0; ///< 0: the default thread count
};

/// Each cell's approximate neighbours, nearest first (squared euclidean distance in float,
/// ties by index); the cell itself is not among them.
struct NnDescentResult {
    std::int64_t n_neighbors = 0;
    std::vector<std::int32_t> index;    ///< cells x n_neighbors, row-major
    std::vector<float> squared_distance; ///< cells x n_neighbors, row-major
    int rounds = 0;                      ///< NN-descent rounds run after the forest
    std::vector<std::int64_t> changes;   ///< entries that changed in each round
};

/// NN-descent on the rows of @p x. Throws scx::Error unless 1 <= n_neighbors < rows.
NnDescentResult nn_descent(const RowMatrixF& x, const NnDescentOptions& options = {});

} // namespace scx
