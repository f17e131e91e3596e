#pragma once
/// @file export.hpp
/// @brief Stage 1 from a checkpoint and reference cells to an operator file (.scxop): every
/// layer x head gene-gene operator over an HVG panel of the reference, from the attention
/// atlas or the weights-only QK / OV circuits. The CLI's `export` is this header.

#include "scextract/core/messages.hpp"
#include "scextract/preprocess/input_values.hpp"
#include "scextract/core/progress.hpp"
#include "scextract/extract/atlas.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace scx {

/// Options of export_file(). Defaults are the CLI's.
struct ExportFileOptions {
    std::string model;                    ///< checkpoint folder (args.json, vocab.json, weights) or weights file
    std::string reference;                ///< reference cells (raw counts): .h5ad, 10x or CSV
    std::string out;                      ///< .scxop to write (atomically)
    std::string mode = "atlas";           ///< atlas, qk or ov
    std::string layer;                    ///< counts from this layer instead of X
    bool raw = false;                     ///< counts from raw.X
    InputValuesOptions input;             ///< counts or log-normalised (default: detected)
    std::string gene_column;              ///< var column with symbols (empty: automatic)
    std::string flavor = "auto";          ///< HVG flavour: seurat_v3 (counts), seurat (log data), auto (by the input)
    std::string vocab_filter = "before_hvg"; ///< drop out-of-vocabulary genes before HVG selection, or after
    std::string panel_order = "hvg_rank"; ///< hvg_rank or input
    std::int64_t panel = 1200;            ///< panel size
    std::int64_t cells = AtlasOptions{}.n_cells;       ///< atlas: reference cells sampled
    std::int64_t max_tokens = AtlasOptions{}.max_tokens; ///< atlas: tokens per cell at most
    std::int64_t batch_size = AtlasOptions{}.batch_size; ///< atlas: cells per work unit (no effect on results)
    double target_sum = 1e4;              ///< normalize_total target
    std::uint64_t seed = 42;              ///< atlas: which cells
    int threads = 0;
    /// Makes a progress bar for the long step ("atlas", "qk circuits", ...); may be empty.
    std::function<std::unique_ptr<ProgressBar>(const std::string& label)> progress_bar;
};

struct ExportFileResult {
    std::int64_t operators = 0;  ///< layers x heads
    std::int64_t panel = 0;      ///< genes in the panel
    std::int64_t bytes = 0;      ///< size of the operator file
    double seconds = 0;
};

/// Loads the checkpoint (nothing in it is executed), builds the panel, computes the operators
/// and writes options.out with its provenance (checkpoint SHA-256, reference, panel choices).
/// Each step is noted on @p messages.
ExportFileResult export_file(const ExportFileOptions& options, const MessageSink& messages = {});

} // namespace scx
