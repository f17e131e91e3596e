#pragma once
/// @file pseudotime.hpp
/// @brief Pseudotime of one file's cells with scanpy's DPT or Palantir, as the benchmark's
/// native baselines compute them (baselines/diffusion_pseudotime.hpp, baselines/palantir.hpp),
/// written into an annotated copy of the input. The CLI's `pseudotime` is this header.
///
/// Preprocessing is the benchmark anchors' (bench/anchors/anchor_tool.cpp): raw counts are
/// normalize_total(1e4) + log1p'd (log-normalised input is taken as it is), the seurat-flavour
/// highly variable genes are kept, then scanpy's PCA; with @ref PseudotimeFileOptions::use_rep
/// a precomputed embedding in obsm replaces all of that (scanpy's and palantir's use_rep /
/// pca_key). Deterministic, and the same bits for every thread count.

#include "scextract/core/messages.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

/// What pseudotime_file() does. Defaults are scanpy 1.11's (DPT) and palantir 1.4.5's.
struct PseudotimeFileOptions {
    std::string method = "dpt"; ///< "dpt" (scanpy's tl.dpt) or "palantir"
    std::string input;          ///< .h5ad (or 10x / CSV) to read
    std::string out;            ///< .h5ad to write: the input plus the results (never the input)

    /// The root (DPT's iroot, Palantir's early cell): a cell of obs_names ...
    std::string root;
    /// ... or a label: the root is the medoid, in the representation the neighbours are found
    /// in (PCA scores or obsm[use_rep]), of the cells whose obs[@ref label_key] is this label:
    /// the one with the smallest summed euclidean distance to the others, the first on ties
    /// (the benchmark's rule for its earliest-stage cells, bench/per_donor_pseudotime.hpp).
    std::string root_label;
    std::string label_key; ///< obs column holding @ref root_label

    /// obsm key of a precomputed embedding (e.g. X_pca) to use instead of the expression:
    /// no normalisation, HVGs or PCA, and every column is used.
    std::string use_rep;
    std::string layer;  ///< expression from this layer instead of X
    bool raw = false;   ///< expression from raw.X instead of X
    /// "detect" (raw counts are log-normalised, log-normalised values used as they are, anything
    /// else refused), "counts" or "lognorm" (each then checked), as --input-kind elsewhere.
    std::string input_kind = "detect";
    std::int64_t n_top_genes = 2000; ///< seurat-flavour HVGs kept (all genes when fewer); 0: all genes
    std::int64_t n_pcs = 50;         ///< PCA components (at most cells - 1 and genes - 1)

    // DPT (scanpy): pp.neighbors(n_neighbors), tl.diffmap(n_comps), tl.dpt(n_dcs)
    std::int64_t n_neighbors = 15;
    std::int64_t n_comps = 15;
    std::int64_t n_dcs = 10;

    // Palantir: run_diffusion_maps(knn, n_components), run_palantir(knn, num_waypoints, seed)
    std::int64_t knn = 30;
    std::int64_t n_components = 10;
    std::int64_t num_waypoints = 1200;
    std::uint64_t seed = 20;

    int threads = 0; ///< 0: all cores; results do not depend on it
};

/// What pseudotime_file() did.
struct PseudotimeFileResult {
    std::int64_t cells = 0;
    std::string representation;        ///< e.g. "PCA 50 of 2000 HVGs of log1p(normalize_total(X))" or "obsm['X_pca'] (50 columns)"
    std::string root;                  ///< the root cell's name
    std::int64_t root_index = -1;      ///< and its row
    std::string start_cell;            ///< Palantir: the boundary cell it starts from
    std::vector<std::string> terminal_states; ///< Palantir: terminal cells (fate columns), by name
    std::int64_t unreachable = 0;      ///< DPT: cells outside the root's graph component (pseudotime inf)
    double seconds = 0;
};

/// Runs @p options.method on @p options.input and writes it to @p options.out (atomically,
/// a copy of the input with the additions) with
/// - dpt: obs['dpt_pseudotime'] (float64 in [0, 1], +inf for cells outside the root's
///   component, as scanpy) and uns['iroot'];
/// - palantir: obs['palantir_pseudotime'], obs['palantir_entropy'] (natural log, as
///   palantir), obsm['palantir_fate_probabilities'] (cells x terminal states) and
///   uns['palantir_fate_probabilities_columns'] (the terminal cells' names, palantir's
///   save_as_df=False layout) and uns['palantir_waypoints'] (names, the start cell first);
/// and uns['scx_pseudotime'] with the method, the settings, the root and the representation.
/// Throws scx::Error naming the file and the problem: unknown root cell, label or label
/// column, missing obsm key, fewer cells than the method's neighbours + 1, output == input,
/// values that are neither counts nor log-normalised. Nothing is written on error.
PseudotimeFileResult pseudotime_file(const PseudotimeFileOptions& options, const MessageSink& messages = {});

} // namespace scx
