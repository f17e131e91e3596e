/// @file export_command.cpp
/// @brief `scextract export`: stage 1, every layer x head operator over a gene panel of the
/// reference data, by the attention atlas or the weights-only QK / OV circuits, written as
/// an operator file (.scxop).

#include "scextract/cli/command.hpp"
#include "scextract/cli/input_matrix.hpp"
#include "scextract/core/error.hpp"
#include "scextract/extract/atlas.hpp"
#include "scextract/extract/circuits.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/dataset.hpp"
#include "scextract/io/operator_file.hpp"
#include "scextract/io/sha256.hpp"
#include "scextract/model/scgpt_checkpoint.hpp"
#include "scextract/preprocess/prepare.hpp"

#include <chrono>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx::cli {

namespace {

/// Seconds since @p t0, and resets it.
double lap(std::chrono::steady_clock::time_point& t0) {
    const auto now = std::chrono::steady_clock::now();
    const double s = std::chrono::duration<double>(now - t0).count();
    t0 = now;
    return s;
}

} // namespace

Command add_export_command(CLI::App& root, GlobalOptions& g) {
    struct Args {
        std::string model, reference, out, mode = "atlas", layer, gene_column;
        std::string flavor = "seurat_v3", vocab_filter = "before_hvg", panel_order = "hvg_rank";
        bool raw = false;
        std::int64_t panel = 1200, cells = AtlasOptions{}.n_cells, max_tokens = AtlasOptions{}.max_tokens;
        std::int64_t batch_size = AtlasOptions{}.batch_size;
        double target_sum = 1e4;
    };
    auto a = std::make_shared<Args>();
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
    app->add_option("--gene-column", a->gene_column, "var column with gene symbols (default: automatic)");
    app->add_option("--hvg-flavor,--flavor", a->flavor, "HVG flavour, as scanpy: seurat_v3 (on counts) or seurat (on log data)")
        ->check(CLI::IsMember({"seurat_v3", "seurat"}))
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
                refuse_overwriting_input(a->reference, a->out);
                refuse_overwriting_input(a->model, a->out);
                const auto start = std::chrono::steady_clock::now();
                auto t0 = start;

                const auto checkpoint = load_scgpt_checkpoint(a->model);
                const auto& cfg = checkpoint.config;
                console.info(fmt::format("model {}: {} layers x {} heads, d={}, vocabulary {} ({:.1f} s)",
                                         checkpoint.weights_file, cfg.n_layers, cfg.n_heads, cfg.d_model,
                                         checkpoint.vocab.size(), lap(t0)));
                const std::string sha = sha256_file_hex(checkpoint.weights_file);
                console.info(fmt::format("weights SHA-256 {} ({:.1f} s)", sha, lap(t0)));

                auto d = read_dataset(a->reference, {.layer = a->layer, .use_raw = a->raw});
                console.info(fmt::format("reference {}: {} cells x {} genes ({}, {}) ({:.1f} s)", a->reference,
                                         d.matrix.n_rows, d.matrix.n_cols, d.format, d.matrix_source, lap(t0)));
                const auto symbols = dataset_gene_symbols(d, a->reference, a->gene_column, console);
                PrepareOptions po;
                po.flavor = a->flavor == "seurat" ? HvgFlavor::seurat : HvgFlavor::seurat_v3;
                po.n_top_genes = a->panel;
                po.target_sum = a->target_sum;
                po.vocab_filter = a->vocab_filter == "after_hvg" ? VocabFilter::after_hvg : VocabFilter::before_hvg;
                po.panel_order = a->panel_order == "input" ? PanelOrder::input : PanelOrder::hvg_rank;
                po.threads = console.threads();
                const auto prep = prepare_panel(d.matrix, symbols, &checkpoint.vocab, po,
                                                fmt::format("{} {}", a->reference, d.matrix_source),
                                                counts_hint(d, a->layer, a->raw));
                const auto g_panel = static_cast<std::int64_t>(prep.panel.size());
                if (g_panel == 0) throw Error(fmt::format("{}: no gene of the reference is in the model vocabulary", a->reference));
                if (g_panel < a->panel)
                    console.warn(fmt::format("the panel has {} genes, fewer than the {} asked for", g_panel, a->panel));
                std::vector<std::string> genes;
                for (auto p : prep.panel) genes.push_back(symbols[static_cast<std::size_t>(p)]);
                std::vector<std::string> head(genes.begin(), genes.begin() + std::min<std::int64_t>(g_panel, 8));
                console.info(fmt::format("panel: {} genes ({}, vocabulary filter {}, order {}); first: {} ({:.1f} s)",
                                         g_panel, a->flavor, a->vocab_filter, a->panel_order, fmt::join(head, ", "),
                                         lap(t0)));

                const std::int64_t n_ops = cfg.n_layers * cfg.n_heads;
                const double op_mb = static_cast<double>(n_ops) * static_cast<double>(g_panel * g_panel) * 4.0 / 1e6;
                OperatorSet set;
                if (a->mode == "atlas") {
                    AtlasOptions o;
                    o.n_cells = a->cells;
                    o.seed = g.seed;
                    o.max_tokens = a->max_tokens;
                    o.threads = console.threads();
                    o.batch_size = a->batch_size;
                    console.info(fmt::format("attention atlas: up to {} cells, seed {}, {} heads; memory about {:.0f} MB "
                                             "(accumulators) + {:.0f} MB (operators)",
                                             a->cells, g.seed, n_ops, 2.0 * op_mb, op_mb));
                    auto bar = console.progress("atlas");
                    o.progress = bar->callback();
                    auto r = run_attention_atlas(checkpoint.weights, prep.panel_log_normalized, prep.panel_vocab_ids, o);
                    bar->finish();
                    const double s = lap(t0);
                    console.info(fmt::format("atlas: {} of {} cells with a panel gene sampled ({} cells in the reference), "
                                             "{:.1f} tokens per cell (longest {}); {:.1f} s ({:.2f} cells/s)",
                                             r.cells.size(), r.cells_available, d.matrix.n_rows,
                                             static_cast<double>(r.total_tokens) / static_cast<double>(r.cells.size()),
                                             r.max_cell_tokens, s, static_cast<double>(r.cells.size()) / s));
                    set = std::move(r.operators);
                } else {
                    CircuitOptions o;
                    o.kind = a->mode == "qk" ? CircuitKind::qk : CircuitKind::ov;
                    o.threads = console.threads();
                    auto bar = console.progress(a->mode + " circuits");
                    o.progress = bar->callback();
                    set = run_circuits(checkpoint.weights, prep.panel_vocab_ids, o);
                    bar->finish();
                    console.info(fmt::format("{} circuits of {} heads ({:.1f} s); exact for layer 0 only", a->mode, n_ops,
                                             lap(t0)));
                }
                set.genes = genes;
                auto& p = set.provenance;
                p.target_sum = a->target_sum;
                p.checkpoint_path = std::filesystem::absolute(checkpoint.weights_file).string();
                p.checkpoint_sha256 = sha;
                p.reference_path = std::filesystem::absolute(a->reference).string();
                p.reference_matrix = d.matrix_source;
                p.hvg_flavor = a->flavor;
                p.vocab_filter = a->vocab_filter;
                p.panel_order = a->panel_order;
                p.panel_requested = a->panel;
                p.software = fmt::format("scextract {}", SCX_VERSION);

                write_operator_file(set, a->out);
                const auto bytes = std::filesystem::file_size(a->out);
                console.info(fmt::format("wrote {}: {} operators of {} x {} ({:.2f} MB) ({:.1f} s; {:.1f} s in all)", a->out,
                                         n_ops, g_panel, g_panel, static_cast<double>(bytes) / 1e6, lap(t0),
                                         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()));
            }};
}

} // namespace scx::cli
