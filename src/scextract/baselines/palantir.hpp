#pragma once
/// @file palantir.hpp
/// @brief Palantir's pseudotime (Setty et al. 2019) as palantir 1.4.5 computes it with its
/// defaults: the adaptive anisotropic kernel, diffusion maps, the multiscale space (eigen-gap
/// rule), max-min waypoint sampling, shortest paths on a kNN graph and the weighted
/// refinement loop; and, on request, its fate probabilities and entropy (the Markov chain on
/// the waypoints, terminal states from its stationary distribution, absorption probabilities).

#include "scextract/core/dense.hpp"
#include "scextract/baselines/knn_search.hpp"
#include "scextract/baselines/neighbor_connectivities.hpp"

#include <Eigen/Dense>

#include <cstdint>
#include <vector>

namespace scx {

/// palantir.utils.compute_kernel(knn = 30, alpha = 0) from a kNN graph of knn cells counting
/// the cell itself (scanpy's neighbours, as palantir's default backend finds them): per cell
/// sigma_i = distance to its floor(knn / 3)-th nearest other cell; W_ij = exp(-d_ij / sigma_i)
/// over the other neighbours; kernel W + W^T.
SparseMatrixD palantir_kernel(const KnnGraph& knn);

/// palantir.utils.diffusion_maps_from_kernel: eigenpairs of T = D^-1 K (D = row sums), the
/// n_components of largest magnitude in decreasing order, right eigenvectors scaled to unit
/// length (columns of @ref eigenvectors; signs are arbitrary, and irrelevant downstream).
struct PalantirDiffusionMap {
    Eigen::VectorXd eigenvalues;
    RowMatrixD eigenvectors; ///< cells x n_components
};
PalantirDiffusionMap palantir_diffusion_map(const SparseMatrixD& kernel, std::int64_t n_components = 10, int threads = 0);

/// palantir.utils.determine_multiscale_space: n_eigs = 1 + the position of the largest
/// eigen gap (the second largest when that gives < 3; at least 3); components 1..n_eigs-1
/// scaled by lambda / (1 - lambda). @p n_eigs > 0 overrides the rule.
RowMatrixD palantir_multiscale_space(const PalantirDiffusionMap& map, std::int64_t n_eigs = 0);

/// The cell Palantir starts from: of the cells that are the minimum or maximum of a scaled
/// multiscale component (the "boundaries"), the one nearest to @p early_cell.
std::int64_t palantir_start_cell(const RowMatrixD& scaled, std::int64_t early_cell);

/// Max-min sampling (palantir.core._max_min_sampling): per component, a random first cell,
/// then repeatedly the cell farthest (in that component) from those chosen;
/// num_waypoints / components cells per component. The random first cells are drawn as
/// palantir draws them, np.random.default_rng(seed).integers(cells) per component
/// (baselines/numpy_generator.hpp), so for the same input and seed the waypoints are palantir's.
/// Returns distinct cells in increasing order. Throws scx::Error for a seed above 2^32 - 1.
std::vector<std::int64_t> palantir_max_min_waypoints(const RowMatrixD& scaled, std::int64_t num_waypoints,
                                                     std::uint64_t seed);

/// run_palantir's waypoints: @p start_cell first, then the max-min waypoints and the
/// minimum and maximum cell of each component, distinct and in increasing order.
std::vector<std::int64_t> palantir_waypoints(const RowMatrixD& scaled, std::int64_t start_cell, std::int64_t num_waypoints,
                                             std::uint64_t seed);

/// Options of palantir_pseudotime().
struct PalantirPseudotimeOptions {
    std::int64_t knn = 30;            ///< neighbours (scikit-learn's count, the cell itself included)
    std::int64_t max_iterations = 25; ///< palantir's refinement limit
    /// From this many cells the waypoint distances and weights are held in float (rounded
    /// from the double Dijkstra distances and weights; every sum still in double): at 1M cells
    /// and 1,200 waypoints, 4.8 GB each instead of 9.6.
    std::int64_t float_matrices_from = 262144;
    /// Return the waypoint weights (palantir_fates() needs them); off, they are freed as soon
    /// as the pseudotime is found.
    bool keep_weights = true;
    int threads = 0;
};

/// What palantir_pseudotime() returns.
struct PalantirPseudotime {
    Eigen::VectorXd pseudotime; ///< per cell, min-max scaled to [0, 1]
    std::int64_t iterations = 0; ///< refinement steps taken
    std::int64_t added_edges = 0; ///< edges palantir's _connect_graph added to reach every cell
    /// palantir's W: waypoints x cells Gaussian weights, each column summing to 1 (how the
    /// waypoints' fate probabilities are projected onto the cells); empty unless
    /// PalantirPseudotimeOptions::keep_weights.
    RowMatrixD waypoint_weights;
};

/// palantir.core._compute_pseudotime on @p scaled (the min-max scaled multiscale space):
/// exact kNN graph, unreachable cells joined as _connect_graph does, Dijkstra distances from
/// each waypoint (@p waypoints[0] must be the start cell), Gaussian waypoint weights with
/// bandwidth 1.06 sd(D) (waypoints x cells)^(-1/5), then the refinement loop until the
/// Pearson correlation between steps exceeds 0.9999.
PalantirPseudotime palantir_pseudotime(const RowMatrixD& scaled, const std::vector<std::int64_t>& waypoints,
                                       const PalantirPseudotimeOptions& options = {});

/// What palantir_fates() returns.
struct PalantirFates {
    /// Terminal states (cells), in increasing order. palantir orders them by cell name
    /// (np.unique of names); a caller with names reorders the columns.
    std::vector<std::int64_t> terminal_states;
    RowMatrixD probabilities; ///< cells x terminal states, palantir_fate_probabilities
    Eigen::VectorXd entropy;  ///< per cell, scipy.stats.entropy (natural log) of its probabilities
};

/// palantir.core._differentiation_entropy and the projection run_palantir does, with
/// terminal states found as _terminal_states_from_markov_chain finds them:
/// - the Markov chain on the waypoints of @p scaled: exact kNN (@p knn, the waypoint itself
///   included; at most the number of waypoints), adaptive sd = distance to the
///   (floor(knn / 3) - 1)-th neighbour, edges to neighbours earlier in pseudotime than the
///   waypoint's minus its sd dropped, affinities exp(-d^2 / 2 sd_i^2 - d^2 / 2 sd_j^2), rows
///   normalised;
/// - terminal states: waypoints whose stationary probability exceeds
///   median + norm.ppf(0.9999) MAD, grouped in weakly connected components of the chain; in
///   each the latest in pseudotime, mapped to the nearest boundary cell (extreme of a
///   component). palantir takes the stationary vector from ARPACK; here from a sparse LU
///   solve (the same vector whenever the chain has one stationary distribution; otherwise the
///   lazy chain's limit from the uniform start, where ARPACK's choice is arbitrary);
/// - absorption probabilities (I - Q) B = R by sparse LU, negatives set to 0, terminal states
///   absorbing; projected to cells through @p pseudotime's waypoint weights; the entropy
///   taken, then probabilities below 0.01 set to 0 (palantir's PResults does so in place, and
///   that is what run_palantir stores).
/// Deterministic and single-threaded (waypoints number in the thousands at most).
PalantirFates palantir_fates(const RowMatrixD& scaled, const std::vector<std::int64_t>& waypoints,
                             const PalantirPseudotime& pseudotime, std::int64_t knn = 30);

/// Options of run_palantir(), palantir's defaults.
struct PalantirOptions {
    std::int64_t n_pcs = 50;          ///< sc.pp.pca before Palantir (its tutorials' input)
    std::int64_t kernel_knn = 30;     ///< run_diffusion_maps(knn)
    std::int64_t n_components = 10;   ///< run_diffusion_maps(n_components)
    std::int64_t num_waypoints = 1200;
    std::uint64_t seed = 20;
    PalantirPseudotimeOptions pseudotime;
    /// Also compute fate probabilities and entropy (palantir always does; the benchmark
    /// scores the pseudotime only, so off by default).
    bool fates = false;
    int threads = 0;
};

/// Every stage of run_palantir().
struct PalantirResult {
    RowMatrixF representation;
    SparseMatrixD kernel;
    PalantirDiffusionMap diffmap;
    RowMatrixD multiscale, scaled;
    std::int64_t start_cell = -1;
    std::vector<std::int64_t> waypoints; ///< start cell first
    PalantirPseudotime pseudotime;
    PalantirFates fates; ///< empty unless PalantirOptions::fates
};

/// The whole workflow on @p x (cells x genes): PCA as scanpy_dpt does, kernel, diffusion
/// map, multiscale space, min-max scaling, start cell, waypoints (max-min plus boundaries),
/// pseudotime (and, with PalantirOptions::fates, palantir_fates() with the pseudotime's knn).
/// A representation with at most n_pcs columns is used as it is (scanpy's rule), which is how
/// a precomputed embedding is passed. Throws scx::Error for fewer cells than knn + 1 or an early cell out of range.
PalantirResult run_palantir(const RowMatrixF& x, std::int64_t early_cell, const PalantirOptions& options = {});

} // namespace scx
