/// @file embed_command.cpp
/// @brief `scextract embed`: frozen scGPT cell embeddings into obsm['X_scgpt'] of a copy of the input.

#include "scextract/cli/command.hpp"
#include "scextract/cli/input_matrix.hpp"
#include "scextract/core/error.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/dataset.hpp"
#include "scextract/io/h5ad_writer.hpp"
#include "scextract/model/embed.hpp"
#include "scextract/preprocess/count_check.hpp"

#include <chrono>

#include <fmt/format.h>

namespace scx::cli {

Command add_embed_command(CLI::App& root, GlobalOptions& g) {
    struct Args {
        std::string model, input, out, layer, gene_column, key = "X_scgpt";
        std::string pool = "mean", tokenizer = "official", padded_states = "zero";
        std::int64_t pool_batch_size = 64;
        bool raw = false, l2 = false;
        std::int64_t batch_size = 8, max_tokens = 1200;
    };
    auto args = std::make_shared<Args>();
    auto* app = root.add_subcommand("embed", "frozen scGPT cell embeddings, written to obsm of a copy of the input");
    app->add_option("--model", args->model, "scGPT checkpoint folder (args.json, vocab.json, weights) or weights file")
        ->required();
    app->add_option("--input", args->input, "input .h5ad, 10x folder or .h5, or CSV (raw counts)")->required();
    app->add_option("--out", args->out, "output .h5ad: a copy of the input with obsm[KEY] and uns['scx_embed']")->required();
    auto* layer = app->add_option("--layer", args->layer, "take counts from this layer instead of X");
    app->add_flag("--raw", args->raw, "take counts from raw.X instead of X")->excludes(layer);
    app->add_option("--gene-column", args->gene_column, "var column with gene symbols (default: automatic)");
    app->add_option("--pool", args->pool,
                    "mean over a cell's real tokens, the <cls> state, or scgpt-avg: scGPT's avg-pool compatibility mode "
                    "(mean over every position of a padded batch, <cls> and padding included)")
        ->check(CLI::IsMember({"mean", "cls", "scgpt-avg"}))
        ->capture_default_str();
    app->add_option("--pool-batch-size", args->pool_batch_size,
                    "scgpt-avg: consecutive cells per padded batch (scGPT's eval_batch_size); the result depends on it")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--padded-states", args->padded_states,
                    "scgpt-avg: padded positions hold zeros (torch's nested-tensor fast path under no_grad) or "
                    "computed states (the standard path)")
        ->check(CLI::IsMember({"zero", "computed"}))
        ->capture_default_str();
    app->add_option("--tokenizer", args->tokenizer,
                    "official (scGPT's <cls> + binned counts) or atlas (log1p values sorted, no <cls>)")
        ->check(CLI::IsMember({"official", "atlas"}))
        ->capture_default_str();
    app->add_flag("--l2-normalize", args->l2, "L2-normalise each embedding (scGPT's embed_data does this for <cls>)");
    app->add_option("--max-tokens", args->max_tokens, "tokens per cell at most (official: <cls> included)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--batch-size", args->batch_size, "cells per work unit (does not change results)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--key", args->key, "obsm key to write")->capture_default_str();
    return {app, [args, &g](const Console& console) {
                const auto& a = *args;
                if (a.pool == "cls" && a.tokenizer == "atlas")
                    throw UsageError("--pool cls needs --tokenizer official: the atlas tokenizer has no <cls> token");
                refuse_overwriting_input(a.input, a.out);
                const auto t0 = std::chrono::steady_clock::now();
                const auto checkpoint = load_scgpt_checkpoint(a.model);
                console.info(fmt::format("model {}: {} layers, d={}, {} heads, vocabulary {}", checkpoint.weights_file,
                                         checkpoint.config.n_layers, checkpoint.config.d_model, checkpoint.config.n_heads,
                                         checkpoint.vocab.size()));
                auto d = read_dataset(a.input, {.layer = a.layer, .use_raw = a.raw});
                const auto values = inspect_values(d.matrix, {.threads = console.threads()});
                require_counts(values, fmt::format("{} {}", a.input, d.matrix_source), counts_hint(d, a.layer, a.raw));
                const auto symbols = dataset_gene_symbols(d, a.input, a.gene_column, console);
                EmbedOptions o;
                o.tokenizer = a.tokenizer == "atlas" ? EmbedTokenizer::atlas : EmbedTokenizer::official;
                o.pooling = a.pool == "cls"         ? EmbedPooling::cls
                            : a.pool == "scgpt-avg" ? EmbedPooling::scgpt_avg
                                                    : EmbedPooling::mean;
                o.pool_batch_size = a.pool_batch_size;
                o.padded_states = a.padded_states == "computed" ? PaddedStates::computed : PaddedStates::zero;
                o.l2_normalize = a.l2;
                o.max_tokens = a.max_tokens;
                o.seed = g.seed;
                o.batch_size = a.batch_size;
                o.threads = console.threads();
                const auto r = embed_cells(checkpoint, d.matrix, symbols, o);
                const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                console.info(fmt::format("{} of {} genes in the vocabulary; {} cells, {} tokens, {:.1f} s ({:.2f} cells/s)",
                                         r.genes_in_vocab, d.matrix.n_cols, d.matrix.n_rows, r.total_tokens, seconds,
                                         static_cast<double>(d.matrix.n_rows) / seconds));
                if (r.empty_cells > 0)
                    console.warn(fmt::format("{} cells express no vocabulary gene; their embeddings are NaN", r.empty_cells));

                const std::vector<float> flat(r.embedding.data(), r.embedding.data() + r.embedding.size());
                Mapping provenance;
                provenance.set("model", Element{StringArray{{}, {checkpoint.weights_file}}});
                provenance.set("tokenizer", Element{StringArray{{}, {a.tokenizer}}});
                provenance.set("pool", Element{StringArray{{}, {a.pool}}});
                provenance.set("l2_normalize", Element{NdArray::scalar<bool>(a.l2)});
                if (a.pool == "scgpt-avg") {
                    provenance.set("pool_batch_size", Element{NdArray::scalar<std::int64_t>(a.pool_batch_size)});
                    provenance.set("padded_states", Element{StringArray{{}, {a.padded_states}}});
                }
                provenance.set("max_tokens", Element{NdArray::scalar<std::int64_t>(a.max_tokens)});
                provenance.set("seed", Element{NdArray::scalar<std::int64_t>(static_cast<std::int64_t>(g.seed))});
                provenance.set("matrix", Element{StringArray{{}, {d.matrix_source}}});
                provenance.set("scextract_version", Element{StringArray{{}, {SCX_VERSION}}});
                H5adAdditions add;
                add.obsm.set(a.key, Element{NdArray::from(flat, {r.embedding.rows(), r.embedding.cols()})});
                add.uns.set("scx_embed", Element{provenance});
                write_dataset_with_additions(a.input, std::move(d), a.out, add);
                console.info(fmt::format("wrote {} (obsm['{}'])", a.out, a.key));
            }};
}

} // namespace scx::cli
