#pragma once
/// @file diffusion_map.hpp
/// @brief scanpy's tl.diffmap: the density-normalised diffusion operator of a neighbour graph
/// and its leading eigenpairs.

#include "scextract/core/dense.hpp"
#include "scextract/baselines/neighbor_connectivities.hpp"

#include <Eigen/Dense>

#include <cstdint>
#include <vector>

namespace scx {

/// Options of diffusion_map().
struct DiffusionMapOptions {
    std::int64_t n_components = 15; ///< scanpy's n_comps (at most cells - 1 are computed)
    /// Coifman & Lafon's density normalisation K = Q^-1 W Q^-1, Q = diag(degrees) (scanpy: on).
    bool density_normalize = true;
    int threads = 0; ///< 0: the default thread count; results do not depend on it
};

/// What diffusion_map() returns.
struct DiffusionMapResult {
    /// The n_components eigenvalues of largest magnitude of T_sym = Z^-1 K Z^-1
    /// (Z = diag(sqrt(row sums of K))), in decreasing order (scanpy's diffmap_evals).
    Eigen::VectorXd eigenvalues;
    /// The matching unit eigenvectors as columns, cells x n_components (scanpy's X_diffmap;
    /// signs, and rotations within a repeated eigenvalue, are arbitrary).
    RowMatrixD eigenvectors;
    std::int64_t n_graph_components = 1;      ///< connected components of the graph
    std::vector<std::int64_t> graph_component; ///< per cell, numbered by first cell
};

/// Computes the diffusion map of @p connectivities (symmetric, non-negative, cells x cells).
/// The operator is block-diagonal over connected components, so each component is solved
/// on its own (dense below 1,000 cells, Spectra's Lanczos above) and the eigenpairs of
/// largest magnitude over all blocks are kept: the same spectrum as scanpy's eigsh on the
/// whole matrix, but eigenvalue 1 of several components is found reliably. Throws
/// scx::Error for fewer than 3 cells, a non-square matrix or a cell without edges.
DiffusionMapResult diffusion_map(const SparseMatrixD& connectivities, const DiffusionMapOptions& options = {});

/// Connected components of a symmetric graph: per cell, the component's number, numbered
/// in the order of each component's first cell. Returns the number of components.
std::int64_t connected_components(const SparseMatrixD& graph, std::vector<std::int64_t>& component);

} // namespace scx
