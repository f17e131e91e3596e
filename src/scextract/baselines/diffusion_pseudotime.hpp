#pragma once
/// @file diffusion_pseudotime.hpp
/// @brief Diffusion pseudotime as scanpy's tl.dpt computes it (Haghverdi et al. 2016), and
/// scanpy's whole DPT workflow on an expression matrix: pp.pca -> pp.neighbors -> tl.diffmap
/// -> tl.dpt, each with scanpy's defaults.

#include "scextract/core/dense.hpp"
#include "scextract/baselines/diffusion_map.hpp"
#include "scextract/baselines/knn_search.hpp"
#include "scextract/baselines/neighbor_connectivities.hpp"

#include <Eigen/Dense>

#include <cstdint>

namespace scx {

/// Options of diffusion_pseudotime().
struct DiffusionPseudotimeOptions {
    std::int64_t n_dcs = 10; ///< diffusion components used, the first (stationary) one included
};

/// scanpy's DPT distance from @p root over the first n_dcs diffusion components:
/// sqrt(sum_l (lambda_l / (1 - lambda_l))^2 (psi_l(root) - psi_l(x))^2) over components with
/// lambda_l < 0.9994, plus the plain squared differences of components with lambda_l >= 0.9994
/// (scanpy keeps these for backward compatibility); cells outside the root's graph component
/// get +inf; the result is divided by its largest finite value. Throws scx::Error for a root
/// out of range.
Eigen::VectorXd diffusion_pseudotime(const DiffusionMapResult& map, std::int64_t root,
                                     const DiffusionPseudotimeOptions& options = {});

/// Options of scanpy_dpt(), scanpy 1.11's defaults.
struct ScanpyDptOptions {
    /// pp.pca's n_comps: min(50, cells - 1, genes - 1); with at most 50 genes pp.neighbors uses
    /// the expression itself, as scanpy does.
    std::int64_t n_pcs = 50;
    KnnSearchOptions knn;                               ///< n_neighbors 15
    ConnectivityKernel kernel = ConnectivityKernel::umap;
    DiffusionMapOptions diffmap;                        ///< 15 components
    DiffusionPseudotimeOptions dpt;                     ///< n_dcs 10
    int threads = 0;
};

/// Every stage of scanpy_dpt(), for checks against scanpy and for figures.
struct ScanpyDptResult {
    RowMatrixF representation;   ///< what the neighbours were found in (PCA scores, or X)
    KnnGraph knn;
    SparseMatrixD connectivities;
    DiffusionMapResult diffmap;
    Eigen::VectorXd pseudotime;  ///< per cell, in [0, 1]; +inf outside the root's component
};

/// What scanpy's pp.neighbors finds neighbours in after pp.pca: the first
/// min(@p n_pcs, cells - 1, genes - 1) centred PCA scores (exact, double), or @p x itself when
/// it has at most @p n_pcs genes (scanpy's _choose_representation).
RowMatrixF scanpy_pca_representation(const RowMatrixF& x, std::int64_t n_pcs, int threads = 0);

/// scanpy's DPT workflow on @p x (cells x genes, e.g. log1p expression), rooted at @p root.
/// PCA is centred, exact and in double (scanpy's arpack solver converges to the same
/// subspace). Deterministic and independent of the thread count. Throws scx::Error for fewer
/// cells than n_neighbors + 1 or a root out of range.
ScanpyDptResult scanpy_dpt(const RowMatrixF& x, std::int64_t root, const ScanpyDptOptions& options = {});

} // namespace scx
