/// @file embed_command.cpp
/// @brief `scextract embed`: parse, then the library's embed_file() (include/scextract/embed.hpp).

#include "scextract/cli/command.hpp"
#include "scextract/cli/input_matrix.hpp"
#include "scextract/embed.hpp"

#include <fmt/format.h>

namespace scx::cli {

Command add_embed_command(CLI::App& root, GlobalOptions& g) {
    struct Args {
        std::string model, input, out, layer, gene_column, key = "X_scgpt";
        std::string pool = "mean", tokenizer = "official", padded_states = "zero";
        std::int64_t pool_batch_size = 64;
        bool raw = false, l2 = false;
        std::int64_t batch_size = 8, max_tokens = 1200;
        InputValuesOptions input_kind;
    };
    auto args = std::make_shared<Args>();
    auto* app = root.add_subcommand("embed", "frozen scGPT cell embeddings, written to obsm of a copy of the input");
    app->add_option("--model", args->model, "scGPT checkpoint folder (args.json, vocab.json, weights) or weights file")
        ->required();
    app->add_option("--input", args->input, "input .h5ad, 10x folder or .h5, or CSV (raw counts or log-normalised values)")->required();
    app->add_option("--out", args->out, "output .h5ad: a copy of the input with obsm[KEY] and uns['scx_embed']")->required();
    auto* layer = app->add_option("--layer", args->layer, "take counts from this layer instead of X");
    app->add_flag("--raw", args->raw, "take counts from raw.X instead of X")->excludes(layer);
    add_input_kind_options(app, args->input_kind);
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
                EmbedFileOptions o;
                o.model = a.model;
                o.input = a.input;
                o.out = a.out;
                o.layer = a.layer;
                o.raw = a.raw;
                o.input_kind = a.input_kind;
                o.gene_column = a.gene_column;
                o.key = a.key;
                o.embed = embed_options(a.pool, a.tokenizer, a.padded_states);
                o.embed.pool_batch_size = a.pool_batch_size;
                o.embed.l2_normalize = a.l2;
                o.embed.max_tokens = a.max_tokens;
                o.embed.seed = g.seed;
                o.embed.batch_size = a.batch_size;
                o.embed.threads = console.threads();
                embed_file(o, console.messages());
                console.info(fmt::format("wrote {} (obsm['{}'])", o.out, o.key));
            }};
}

} // namespace scx::cli
