/// @file embed.cpp
/// @brief embed_file() and the embed choices by name, for every front-end.

#include "scextract/embed.hpp"

#include "scextract/api/input_cells.hpp"
#include "scextract/core/error.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/output_paths.hpp"
#include "scextract/io/dataset.hpp"
#include "scextract/io/h5ad_writer.hpp"
#include "scextract/preprocess/count_check.hpp"
#include "scextract/version.hpp"

#include <chrono>

#include <fmt/format.h>

namespace scx {

EmbedOptions embed_options(const std::string& pool, const std::string& tokenizer, const std::string& padded_states) {
    EmbedOptions o;
    if (tokenizer == "official") o.tokenizer = EmbedTokenizer::official;
    else if (tokenizer == "atlas") o.tokenizer = EmbedTokenizer::atlas;
    else throw UsageError(fmt::format("embed: tokenizer '{}' is not official or atlas", tokenizer));
    if (pool == "mean") o.pooling = EmbedPooling::mean;
    else if (pool == "cls") o.pooling = EmbedPooling::cls;
    else if (pool == "scgpt-avg") o.pooling = EmbedPooling::scgpt_avg;
    else throw UsageError(fmt::format("embed: pool '{}' is not mean, cls or scgpt-avg", pool));
    if (padded_states == "zero") o.padded_states = PaddedStates::zero;
    else if (padded_states == "computed") o.padded_states = PaddedStates::computed;
    else throw UsageError(fmt::format("embed: padded states '{}' is not zero or computed", padded_states));
    if (o.pooling == EmbedPooling::cls && o.tokenizer == EmbedTokenizer::atlas)
        throw UsageError("--pool cls needs --tokenizer official: the atlas tokenizer has no <cls> token");
    return o;
}

Mapping embed_provenance(const std::string& weights_file, const EmbedOptions& o, const std::string& matrix_source) {
    const bool atlas = o.tokenizer == EmbedTokenizer::atlas;
    const char* pool = o.pooling == EmbedPooling::cls ? "cls" : o.pooling == EmbedPooling::scgpt_avg ? "scgpt-avg" : "mean";
    Mapping provenance;
    provenance.set("model", Element{StringArray{{}, {weights_file}}});
    provenance.set("tokenizer", Element{StringArray{{}, {atlas ? "atlas" : "official"}}});
    provenance.set("pool", Element{StringArray{{}, {pool}}});
    provenance.set("l2_normalize", Element{NdArray::scalar<bool>(o.l2_normalize)});
    if (o.pooling == EmbedPooling::scgpt_avg) {
        provenance.set("pool_batch_size", Element{NdArray::scalar<std::int64_t>(o.pool_batch_size)});
        provenance.set("padded_states", Element{StringArray{{}, {o.padded_states == PaddedStates::computed ? "computed" : "zero"}}});
    }
    provenance.set("max_tokens", Element{NdArray::scalar<std::int64_t>(o.max_tokens)});
    provenance.set("seed", Element{NdArray::scalar<std::int64_t>(static_cast<std::int64_t>(o.seed))});
    provenance.set("matrix", Element{StringArray{{}, {matrix_source}}});
    provenance.set("scextract_version", Element{StringArray{{}, {version()}}});
    return provenance;
}

EmbedFileResult embed_file(const EmbedFileOptions& a, const MessageSink& messages) {
    refuse_overwriting_inputs(a.out, {a.input, a.model}); // and the files of a checkpoint folder
    const auto t0 = std::chrono::steady_clock::now();
    const auto checkpoint = load_scgpt_checkpoint(a.model);
    messages.note(fmt::format("model {}: {} layers, d={}, {} heads, vocabulary {}", checkpoint.weights_file, checkpoint.config.n_layers,
                              checkpoint.config.d_model, checkpoint.config.n_heads, checkpoint.vocab.size()));
    auto d = read_dataset(a.input, {.layer = a.layer, .use_raw = a.raw});
    const auto input = resolve_dataset_values(d, a.input_kind, a.input, a.layer, a.raw, a.embed.threads, messages);
    CsrMatrix converted;
    const CsrMatrix& x = method_matrix(d, input, converted, a.embed.threads);
    const auto symbols = dataset_gene_symbols(d, a.input, a.gene_column, messages);
    EmbedFileResult result;
    result.embed = embed_cells(checkpoint, x, symbols, a.embed);
    const auto& r = result.embed;
    result.cells = d.matrix.n_rows;
    result.genes = d.matrix.n_cols;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    messages.note(fmt::format("{} of {} genes in the vocabulary; {} cells, {} tokens, {:.1f} s ({:.2f} cells/s)", r.genes_in_vocab,
                              d.matrix.n_cols, d.matrix.n_rows, r.total_tokens, seconds,
                              static_cast<double>(d.matrix.n_rows) / seconds));
    if (r.empty_cells > 0) messages.warning(fmt::format("{} cells express no vocabulary gene; their embeddings are NaN", r.empty_cells));
    const std::vector<float> flat(r.embedding.data(), r.embedding.data() + r.embedding.size());
    H5adAdditions add;
    add.obsm.set(a.key, Element{NdArray::from(flat, {r.embedding.rows(), r.embedding.cols()})});
    add.uns.set("scx_embed", Element{embed_provenance(checkpoint.weights_file, a.embed, d.matrix_source)});
    write_dataset_with_additions(a.input, std::move(d), a.out, add);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

} // namespace scx
