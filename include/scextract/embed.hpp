#pragma once
/// @file embed.hpp
/// @brief Frozen scGPT cell embeddings: load a checkpoint safely (nothing in it is executed)
/// and embed cells in memory or from one file into an annotated copy. The CLI's `embed` and
/// the Python package's `scx.load_model` / `scx.embed` are this header.

#include "scextract/core/messages.hpp"
#include "scextract/preprocess/input_values.hpp"
#include "scextract/io/anndata.hpp"
#include "scextract/model/embed.hpp"
#include "scextract/model/scgpt_checkpoint.hpp"

#include <string>

namespace scx {

/// A checkpoint folder (args.json, vocab.json, weights) or weights file, parsed without
/// executing anything from it. Throws scx::Error naming the file.
inline ScGptCheckpoint load_model(const std::string& path) { return load_scgpt_checkpoint(path); }

/// The embed choices by the names the CLI and Python take: pool mean|cls|scgpt-avg,
/// tokenizer official|atlas, padded_states zero|computed. Throws UsageError on any other
/// name and for cls pooling with the atlas tokenizer (it has no <cls>).
EmbedOptions embed_options(const std::string& pool, const std::string& tokenizer, const std::string& padded_states);

/// uns['scx_embed']: how the embedding was made.
Mapping embed_provenance(const std::string& weights_file, const EmbedOptions& options, const std::string& matrix_source);

/// One file in, an annotated copy out.
struct EmbedFileOptions {
    std::string model, input, out;  ///< checkpoint, cells (raw counts), output .h5ad
    std::string layer;              ///< counts from this layer instead of X
    bool raw = false;               ///< counts from raw.X
    InputValuesOptions input_kind;  ///< counts or log-normalised (default: detected)
    std::string gene_column;        ///< var column with symbols (empty: automatic)
    std::string key = "X_scgpt";    ///< obsm key to write
    EmbedOptions embed;             ///< tokenizer, pooling, batch size, threads, seed
};

struct EmbedFileResult {
    EmbedResult embed;   ///< the embedding and what was in the vocabulary
    std::int64_t cells = 0, genes = 0;
    double seconds = 0;
};

/// Embeds options.input and writes it with obsm[key] and uns['scx_embed'] to options.out.
EmbedFileResult embed_file(const EmbedFileOptions& options, const MessageSink& messages = {});

} // namespace scx
