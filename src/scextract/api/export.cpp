/// @file export.cpp
/// @brief export_file(): the `export` verb (stage 1) for every front-end.

#include "scextract/export.hpp"

#include "scextract/api/input_cells.hpp"
#include "scextract/core/error.hpp"
#include "scextract/extract/circuits.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/output_paths.hpp"
#include "scextract/io/dataset.hpp"
#include "scextract/io/operator_file.hpp"
#include "scextract/io/sha256.hpp"
#include "scextract/model/scgpt_checkpoint.hpp"
#include "scextract/preprocess/prepare.hpp"
#include "scextract/version.hpp"

#include <chrono>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

namespace {

/// Seconds since @p t0, and resets it.
double lap(std::chrono::steady_clock::time_point& t0) {
    const auto now = std::chrono::steady_clock::now();
    const double s = std::chrono::duration<double>(now - t0).count();
    t0 = now;
    return s;
}

} // namespace

ExportFileResult export_file(const ExportFileOptions& a, const MessageSink& messages) {
    refuse_overwriting_inputs(a.out, {a.reference, a.model}); // and the files of a checkpoint folder
    const auto start = std::chrono::steady_clock::now();
    auto t0 = start;

    const auto checkpoint = load_scgpt_checkpoint(a.model);
    const auto& cfg = checkpoint.config;
    messages.note(fmt::format("model {}: {} layers x {} heads, d={}, vocabulary {} ({:.1f} s)",
                             checkpoint.weights_file, cfg.n_layers, cfg.n_heads, cfg.d_model,
                             checkpoint.vocab.size(), lap(t0)));
    const std::string sha = sha256_file_hex(checkpoint.weights_file);
    messages.note(fmt::format("weights SHA-256 {} ({:.1f} s)", sha, lap(t0)));

    auto d = read_dataset(a.reference, {.layer = a.layer, .use_raw = a.raw});
    messages.note(fmt::format("reference {}: {} cells x {} genes ({}, {}) ({:.1f} s)", a.reference,
                             d.matrix.n_rows, d.matrix.n_cols, d.format, d.matrix_source, lap(t0)));
    const auto input = take_input_values(d, a.input, a.reference, a.layer, a.raw, a.threads, messages);
    const auto flavor = resolve_hvg_flavor(a.flavor, input.normalized());
    const auto symbols = dataset_gene_symbols(d, a.reference, a.gene_column, messages);
    PrepareOptions po;
    po.flavor = flavor;
    po.normalized_input = input.normalized();
    po.n_top_genes = a.panel;
    po.target_sum = a.target_sum;
    po.vocab_filter = a.vocab_filter == "after_hvg" ? VocabFilter::after_hvg : VocabFilter::before_hvg;
    po.panel_order = a.panel_order == "input" ? PanelOrder::input : PanelOrder::hvg_rank;
    po.threads = a.threads;
    const auto prep = prepare_panel(d.matrix, symbols, &checkpoint.vocab, po,
                                    fmt::format("{} {}", a.reference, d.matrix_source),
                                    counts_hint(d, a.layer, a.raw));
    const auto g_panel = static_cast<std::int64_t>(prep.panel.size());
    if (g_panel == 0) throw Error(fmt::format("{}: no gene of the reference is in the model vocabulary", a.reference));
    if (g_panel < a.panel)
        messages.warning(fmt::format("the panel has {} genes, fewer than the {} asked for", g_panel, a.panel));
    std::vector<std::string> genes;
    for (auto p : prep.panel) genes.push_back(symbols[static_cast<std::size_t>(p)]);
    std::vector<std::string> head(genes.begin(), genes.begin() + std::min<std::int64_t>(g_panel, 8));
    messages.note(fmt::format("panel: {} genes ({}, vocabulary filter {}, order {}); first: {} ({:.1f} s)",
                             g_panel, hvg_flavor_name(flavor), a.vocab_filter, a.panel_order, fmt::join(head, ", "),
                             lap(t0)));

    const std::int64_t n_ops = cfg.n_layers * cfg.n_heads;
    const double op_mb = static_cast<double>(n_ops) * static_cast<double>(g_panel * g_panel) * 4.0 / 1e6;
    OperatorSet set;
    if (a.mode == "atlas") {
        AtlasOptions o;
        o.n_cells = a.cells;
        o.seed = a.seed;
        o.max_tokens = a.max_tokens;
        o.threads = a.threads;
        o.batch_size = a.batch_size;
        messages.note(fmt::format("attention atlas: up to {} cells, seed {}, {} heads; memory about {:.0f} MB "
                                 "(accumulators) + {:.0f} MB (operators)",
                                 a.cells, a.seed, n_ops, 2.0 * op_mb, op_mb));
        auto bar = a.progress_bar ? a.progress_bar("atlas") : nullptr;
        if (bar) o.progress = bar->callback();
        auto r = run_attention_atlas(checkpoint.weights, prep.panel_log_normalized, prep.panel_vocab_ids, o);
        if (bar) bar->finish();
        const double s = lap(t0);
        messages.note(fmt::format("atlas: {} of {} cells with a panel gene sampled ({} cells in the reference), "
                                 "{:.1f} tokens per cell (longest {}); {:.1f} s ({:.2f} cells/s)",
                                 r.cells.size(), r.cells_available, d.matrix.n_rows,
                                 static_cast<double>(r.total_tokens) / static_cast<double>(r.cells.size()),
                                 r.max_cell_tokens, s, static_cast<double>(r.cells.size()) / s));
        set = std::move(r.operators);
    } else {
        CircuitOptions o;
        o.kind = a.mode == "qk" ? CircuitKind::qk : CircuitKind::ov;
        o.threads = a.threads;
        auto bar = a.progress_bar ? a.progress_bar(a.mode + " circuits") : nullptr;
        if (bar) o.progress = bar->callback();
        set = run_circuits(checkpoint.weights, prep.panel_vocab_ids, o);
        if (bar) bar->finish();
        messages.note(fmt::format("{} circuits of {} heads ({:.1f} s); exact for layer 0 only", a.mode, n_ops,
                                 lap(t0)));
    }
    set.genes = genes;
    auto& p = set.provenance;
    p.target_sum = a.target_sum;
    p.checkpoint_path = std::filesystem::absolute(checkpoint.weights_file).string();
    p.checkpoint_sha256 = sha;
    p.reference_path = std::filesystem::absolute(a.reference).string();
    p.reference_matrix = d.matrix_source;
    p.hvg_flavor = hvg_flavor_name(flavor);
    p.vocab_filter = a.vocab_filter;
    p.panel_order = a.panel_order;
    p.panel_requested = a.panel;
    p.software = fmt::format("scextract {}", version());

    write_operator_file(set, a.out);
    ExportFileResult result;
    result.operators = n_ops;
    result.panel = g_panel;
    result.bytes = static_cast<std::int64_t>(std::filesystem::file_size(a.out));
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

} // namespace scx
