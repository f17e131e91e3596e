#pragma once
/// @file hvg.hpp
/// @brief Highly variable genes, as scanpy 1.11.5's sc.pp.highly_variable_genes.
///
/// Two flavours:
/// - seurat_v3 (Stuart et al. 2019) on raw counts: a loess of log10 variance on
///   log10 mean (span 0.3, degree 2, dloess "interpolate" surface, see loess.hpp)
///   gives each gene an expected standard deviation; counts are clipped at
///   mean + sqrt(n_cells) * sd and the variance of the standardised values is the
///   gene's normalised variance. Genes are ranked by it; with batches, ranks are
///   computed per batch and merged by median rank, then by how many batches
///   selected the gene.
/// - seurat (Satija et al. 2015) on log-normalised values: mean and
///   variance / mean of expm1(x), genes cut into n_bins equal-width bins of
///   log1p(mean) (pandas.cut), dispersions z-scored within each bin; a bin with
///   a single gene gives that gene a normalised dispersion of 1.
///
/// Per-gene sums run in row order whatever the block size or thread count, and
/// every formula follows scanpy's order of operations (float32 squares, float64
/// sums), so values agree with scanpy to rounding (~1e-12 relative). Exact ties in
/// the ranking are broken by gene index (scanpy's unstable numpy argsort breaks
/// them in a platform-dependent order).

#include "scextract/core/csr_matrix.hpp"
#include "scextract/core/row_block_reader.hpp"

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace scx {

/// Which scanpy flavour to reproduce.
enum class HvgFlavor {
    seurat,    ///< dispersion-based, expects log-normalised values
    seurat_v3, ///< loess-regularised variance, expects raw counts
};

/// "seurat" or "seurat_v3".
const char* hvg_flavor_name(HvgFlavor flavor);

/// Selection by thresholds, used by the seurat flavour when n_top_genes is empty
/// (scanpy's defaults). Means are log1p(mean); dispersions are normalised ones.
struct HvgCutoffs {
    double min_mean = 0.0125;
    double max_mean = 3.0;
    double min_disp = 0.5;
    double max_disp = std::numeric_limits<double>::infinity();
};

/// Options of highly_variable_genes().
struct HvgOptions {
    HvgFlavor flavor = HvgFlavor::seurat_v3;
    /// Number of genes to select. seurat_v3 uses 2000 when empty (scanpy's default);
    /// seurat selects by @ref cutoffs when empty.
    std::optional<std::int64_t> n_top_genes = 2000;
    HvgCutoffs cutoffs;
    /// seurat_v3: loess span.
    double span = 0.3;
    /// seurat: number of mean bins.
    int n_bins = 20;
    /// seurat: base of the log in the input, as scanpy's uns['log1p']['base']; empty = natural log.
    std::optional<double> log1p_base;
    /// seurat_v3: batch code of each cell (0 .. n_batches-1), scanpy's batch_key with
    /// the categories numbered in sorted order. Empty: one batch.
    std::vector<std::int32_t> batches;
    /// Rows per block read from a RowBlockReader.
    std::int64_t block_rows = 4096;
    /// Threads; <= 0 means all available. Results do not depend on it.
    int threads = 0;
};

/// Per-gene statistics and the selection; every vector has one entry per gene.
struct HvgResult {
    HvgFlavor flavor = HvgFlavor::seurat_v3;
    /// seurat_v3: mean of the counts. seurat: log1p of the mean of expm1(x).
    std::vector<double> means;
    /// seurat_v3: variance of the counts (ddof 1).
    std::vector<double> variances;
    /// seurat_v3: normalised variance (mean over batches).
    std::vector<double> variances_norm;
    /// seurat_v3: rank by normalised variance (0 = most variable; median over batches),
    /// NaN where the gene is not among the top n_top_genes of any batch.
    std::vector<double> highly_variable_rank;
    /// seurat_v3: number of batches in whose top n_top_genes the gene is.
    std::vector<std::int32_t> highly_variable_nbatches;
    /// seurat: log of variance / mean of expm1(x) (NaN where that is zero).
    std::vector<double> dispersions;
    /// seurat: dispersion z-scored within its mean bin.
    std::vector<double> dispersions_norm;
    /// seurat: mean bin of each gene (0 .. n_bins-1).
    std::vector<std::int32_t> mean_bin;
    /// 1 for selected genes.
    std::vector<std::uint8_t> highly_variable;
    /// Indices of the selected genes, most variable first (ties by gene index).
    std::vector<std::int64_t> selected;
};

/// Highly variable genes of a cells x genes matrix (counts for seurat_v3,
/// log1p-normalised values for seurat). Throws scx::Error on invalid options,
/// batch codes that do not match the rows, or a batch too small to fit.
HvgResult highly_variable_genes(const CsrMatrix& x, const HvgOptions& options = {});

/// As above, streaming the matrix in blocks (seurat_v3 reads it twice).
HvgResult highly_variable_genes(RowBlockReader& reader, const HvgOptions& options = {});

} // namespace scx
