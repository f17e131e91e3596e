/// @file export_command.cpp
/// @brief `scextract export`: parse, then the library's export_file() (include/scextract/export.hpp).

#include "scextract/cli/command.hpp"
#include "scextract/cli/input_matrix.hpp"
#include "scextract/export.hpp"

#include <fmt/format.h>

namespace scx::cli {

Command add_export_command(CLI::App& root, GlobalOptions& g) {
    auto a = std::make_shared<ExportFileOptions>();
    auto* app = root.add_subcommand(
        "export", "stage 1: every layer x head gene-gene operator over an HVG panel of the reference, from the "
                  "attention atlas (default) or the weights-only QK / OV circuits, written as an operator file");
    app->add_option("--model", a->model, "scGPT checkpoint folder (args.json, vocab.json, weights) or weights file")
        ->required();
    app->add_option("--reference", a->reference,
                    "reference data (raw counts): .h5ad, 10x folder or .h5, or CSV; the panel's HVGs and the atlas's "
                    "cells come from it")
        ->required();
    app->add_option("--out", a->out, "operator file to write (.scxop)")->required();
    app->add_option("--mode", a->mode,
                    "atlas: mean attention of the frozen model on reference cells; qk / ov: weights-only circuits "
                    "(exact for layer 0 only)")
        ->check(CLI::IsMember({"atlas", "qk", "ov"}))
        ->capture_default_str();
    app->add_option("--panel", a->panel, "panel size: highly variable genes of the reference in the model vocabulary")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--cells", a->cells, "atlas: reference cells sampled (with the global --seed; all when fewer)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--max-tokens", a->max_tokens, "atlas: tokens per cell at most (highest values kept)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--batch-size", a->batch_size, "atlas: cells per work unit (does not change results)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    auto* layer = app->add_option("--layer", a->layer, "take counts from this layer instead of X");
    app->add_flag("--raw", a->raw, "take counts from raw.X instead of X")->excludes(layer);
    add_input_kind_options(app, a->input);
    app->add_option("--gene-column", a->gene_column, "var column with gene symbols (default: automatic)");
    app->add_option("--hvg-flavor,--flavor", a->flavor,
                    "HVG flavour, as scanpy: seurat_v3 (on counts), seurat (on log data) or auto (seurat_v3 for counts, "
                    "seurat for log-normalised input)")
        ->check(CLI::IsMember({"auto", "seurat_v3", "seurat"}))
        ->capture_default_str();
    app->add_option("--vocab-filter", a->vocab_filter,
                    "drop genes missing from the vocabulary before HVG selection (exactly --panel genes) or after it")
        ->check(CLI::IsMember({"before_hvg", "after_hvg"}))
        ->capture_default_str();
    app->add_option("--panel-order", a->panel_order, "panel order: hvg_rank (most variable first) or input")
        ->check(CLI::IsMember({"hvg_rank", "input"}))
        ->capture_default_str();
    app->add_option("--target-sum", a->target_sum, "normalize_total target (over all genes, before the panel)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    return {app, [a, &g](const Console& console) {
                auto o = *a;
                o.seed = g.seed;
                o.threads = console.threads();
                o.progress_bar = [&console](const std::string& label) { return console.progress(label); };
                const auto r = export_file(o, console.messages());
                console.info(fmt::format("wrote {}: {} operators of {} x {} ({:.2f} MB) ({:.1f} s in all)", o.out, r.operators,
                                         r.panel, r.panel, static_cast<double>(r.bytes) / 1e6, r.seconds));
            }};
}

} // namespace scx::cli
