#pragma once
/// @file apply.hpp
/// @brief Placing new cells with an algorithm file (.scx), no model needed: on a matrix in
/// memory (read a block of rows at a time, so a borrowed matrix is never copied whole) or
/// from one file into an annotated copy of it. The CLI's `apply` and the Python package's
/// `scx.apply` are this header.

#include "scextract/core/messages.hpp"
#include "scextract/core/progress.hpp"
#include "scextract/core/row_block_reader.hpp"
#include "scextract/io/algorithm_file.hpp"
#include "scextract/io/anndata.hpp"
#include "scextract/preprocess/input_values.hpp"
#include "scextract/readout/algorithm_pipeline.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace scx {

/// Reads an algorithm file, checking every checksum (throws scx::Error naming the file).
inline Algorithm read_algorithm(const std::string& path) { return read_algorithm_file(path); }

/// How apply() runs. Defaults are the CLI's.
struct ApplyOptions {
    double max_missing_fraction = 0.5; ///< refuse input missing more than this share of the panel
    std::int64_t chunk_rows = 20000;   ///< cells per block (memory, never results, depends on it)
    bool exact_features = false;       ///< form every cell's features as fit does (slower, same up to rounding)
    bool check_counts = true;          ///< check what each block holds (refusing what is neither counts nor log-normalised)
    InputValuesOptions input;          ///< counts or log-normalised (default: detected on the first block)
    int threads = 0;                   ///< 0: all cores; results do not depend on it
    ProgressCallback progress;         ///< (cells done, cells total); may be empty
    std::string algorithm_path;        ///< recorded in uns['scx']['algorithm']
    std::string matrix_source = "X";   ///< recorded in uns['scx']['matrix'] and named in errors
    /// Warn when more than this share of the cells is out of distribution (obs['scx_ood']).
    /// Cells like the training cells are flagged at about 1-2% by construction (the bounds are
    /// training percentiles), so 10% is several times that even for a small, skewed sample of
    /// in-distribution cells, and far below what data from another tissue or assay gives.
    double ood_warn_fraction = 0.10;
};

/// How many cells apply flagged out of distribution, and why (uns['scx']['ood']).
struct ApplyOodSummary {
    bool available = false;                  ///< false: the algorithm file predates the training bounds
    std::int64_t cells = 0;
    std::int64_t out = 0;                    ///< either criterion (obs['scx_ood'])
    std::int64_t reconstruction_out = 0;     ///< reconstruction error above the training 99th percentile
    std::int64_t detected_out = 0;           ///< detected panel-gene fraction below the training 1st percentile
    double reconstruction_error_p99 = 0;     ///< the bounds, from the algorithm file
    double detected_fraction_p1 = 0;
    double mean_reconstruction_error = 0;    ///< over these cells (NaN errors left out)
    double training_mean_reconstruction_error = 0;
    double warn_fraction = 0.10;             ///< ApplyOptions::ood_warn_fraction

    [[nodiscard]] double fraction() const { return cells > 0 ? static_cast<double>(out) / static_cast<double>(cells) : 0.0; }
    [[nodiscard]] bool exceeds_warning() const { return available && fraction() > warn_fraction; }
};

/// One line for the terminal, e.g. "out of distribution: 1.2% of 2638 cells (reconstruction
/// error > 1.93: 1.0%, detected panel genes < 0.31: 0.4%; mean error 0.83, training 0.80)", or why it is unavailable.
std::string describe_ood(const ApplyOodSummary& ood);

/// What apply() writes into an AnnData: obsm['X_scx'], the obs columns in the order the
/// CLI writes them (scx_depth, scx_branch, scx_stage, scx_p_<task>..., scx_recon_error,
/// scx_detected_fraction, scx_ood; float64, categorical, float32 or bool - scx_ood only when
/// the algorithm holds training bounds) and uns['scx'] (with uns['scx']['ood']).
struct ApplyResult {
    RowMatrixF latent;                                ///< cells x k, obsm['X_scx']
    std::vector<std::pair<std::string, Column>> obs;  ///< obs['scx_*']
    Mapping uns;                                      ///< uns['scx']: what was applied to what
    PanelMatch panel;                                 ///< panel genes the input lacked
    ApplyOodSummary ood;                              ///< out-of-distribution counts (also in uns)
};

/// Applies @p algorithm to the raw counts (or log-normalised values, ApplyOptions::input) of @p counts, whose columns are named by
/// @p symbols. Identical bits for every chunk size and thread count, and to the file written
/// by apply_file() on the same cells. Throws scx::Error on too many missing panel genes or
/// (with check_counts) values that are not counts.
ApplyResult apply_algorithm_to(const Algorithm& algorithm, RowBlockReader& counts, const std::vector<std::string>& symbols,
                               const ApplyOptions& options);

/// One file in, an annotated copy out.
struct ApplyFileOptions {
    std::string algorithm;   ///< .scx from fit
    std::string input;       ///< .h5ad, 10x or CSV with raw counts
    std::string out;         ///< .h5ad to write (never the input)
    std::string layer;       ///< counts from this layer instead of X
    bool raw = false;        ///< counts from raw.X
    std::string gene_column; ///< var column with gene symbols (empty: automatic)
    ApplyOptions apply;      ///< algorithm_path and matrix_source are filled in from the file
};

struct ApplyFileResult {
    std::int64_t cells = 0;
    std::int64_t latent_dim = 0;
    bool streamed = false; ///< anndata >= 0.8 files are read and written a block at a time
    double seconds = 0;
    ApplyOodSummary ood;   ///< out-of-distribution counts; warned on when above apply.ood_warn_fraction
};

/// Applies an algorithm file to @p options.input and writes the input plus obsm['X_scx'],
/// obs['scx_*'] and uns['scx'] to @p options.out (atomically). Current .h5ad files stream;
/// 10x, CSV and anndata <= 0.7 files are read whole. Notes and warnings go to @p messages.
ApplyFileResult apply_file(const ApplyFileOptions& options, const MessageSink& messages = {});

} // namespace scx
