#pragma once
/// @file neighbor_connectivities.hpp
/// @brief The weighted neighbour graph of scanpy's pp.neighbors: umap's fuzzy simplicial set
/// (scanpy's default method) or the gauss kernel of Haghverdi et al. (2016), from a kNN graph.

#include "scextract/baselines/knn_search.hpp"

#include <Eigen/Sparse>

namespace scx {

/// Symmetric sparse matrix of cell-cell weights (cells x cells).
using SparseMatrixD = Eigen::SparseMatrix<double>;

/// scanpy's method argument.
enum class ConnectivityKernel {
    umap, ///< umap-learn's fuzzy_simplicial_set, set_op_mix_ratio 1, local_connectivity 1
    gauss ///< scanpy's gauss kernel with knn = True
};

/// umap's fuzzy simplicial set as scanpy calls it (umap-learn 0.5): per cell, rho = the
/// distance to the nearest other cell and sigma from the binary search (64 steps, tolerance
/// 1e-5) for sum_j exp(-(d_j - rho) / sigma) = log2(k) over the k - 1 other neighbours, floored
/// at 1e-3 times the mean neighbour distance; weights exp(-(d - rho) / sigma) (1 where
/// d <= rho), then the fuzzy union A + A^T - A o A^T. Distances are rounded to float32 first,
/// as umap does.
SparseMatrixD umap_connectivities(const KnnGraph& knn);

/// scanpy's gauss kernel on a kNN graph (knn = True, sparse distances): sigma_i^2 = median of
/// the squared distances to the k - 1 other neighbours; weight
/// sqrt(2 s_i s_j / (s_i^2 + s_j^2)) exp(-d_ij^2 / (s_i^2 + s_j^2)) on every kNN edge, made
/// symmetric by adding the reverse of each one-sided edge.
SparseMatrixD gauss_connectivities(const KnnGraph& knn);

/// One of the two by @p kernel.
SparseMatrixD neighbor_connectivities(const KnnGraph& knn, ConnectivityKernel kernel);

} // namespace scx
