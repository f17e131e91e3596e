/// @file prepare_command.cpp
/// @brief `scextract prepare`: read an input, check it holds counts, log-normalise,
/// choose a highly variable gene panel and align it to a model vocabulary.

#include "scextract/cli/command.hpp"
#include "scextract/cli/input_matrix.hpp"
#include "scextract/core/error.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/output_paths.hpp"
#include "scextract/io/dataset.hpp"
#include "scextract/io/h5ad_reader.hpp"
#include "scextract/io/h5ad_writer.hpp"
#include "scextract/io/vocab_json.hpp"
#include "scextract/preprocess/prepare.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace scx::cli {

namespace {

struct Args {
    std::string input, layer, gene_column, vocab, out, json_out;
    bool raw = false, subset = false;
    std::string flavor = "auto", vocab_filter = "before_hvg", panel_order = "hvg_rank";
    std::int64_t n_top_genes = 1200;
    double target_sum = 1e4;
    InputValuesOptions input_kind;
};

nlohmann::ordered_json summary_json(const Args& a, const Dataset& d, const InputValues& input, const PrepareResult& r,
                                    const std::vector<std::string>& symbols) {
    nlohmann::ordered_json j;
    j["input"] = a.input;
    j["matrix"] = d.matrix_source;
    j["n_cells"] = d.matrix.n_rows;
    j["n_genes"] = d.matrix.n_cols;
    j["values"] = input.values.describe();
    j["input_kind"] = input_kind_name(input.kind);
    if (input.normalized()) j["input_target_sum"] = input.target_sum;
    j["flavor"] = hvg_flavor_name(r.hvg.flavor);
    j["n_top_genes"] = a.n_top_genes;
    j["target_sum"] = a.target_sum;
    j["vocab_filter"] = a.vocab.empty() ? "none" : a.vocab_filter;
    j["panel_order"] = a.panel_order;
    if (r.alignment) {
        j["vocab"] = a.vocab;
        j["genes_in_vocab"] = r.alignment->positions.size();
        j["genes_not_in_vocab"] = r.alignment->unmatched.size();
    }
    nlohmann::ordered_json panel = nlohmann::ordered_json::array();
    for (auto p : r.panel) panel.push_back(symbols[static_cast<std::size_t>(p)]);
    j["panel"] = panel;
    j["panel_vocab_ids"] = r.panel_vocab_ids;
    return j;
}

/// The input's var with the per-gene HVG statistics and the panel membership added.
std::vector<std::pair<std::string, Column>> var_columns(const Dataset& d, const PrepareResult& r) {
    const auto n = static_cast<std::size_t>(d.matrix.n_cols);
    std::vector<std::uint8_t> in_panel(n, 0);
    std::vector<std::int64_t> panel_pos(n, -1);
    for (std::size_t k = 0; k < r.panel.size(); ++k) {
        in_panel[static_cast<std::size_t>(r.panel[k])] = 1;
        panel_pos[static_cast<std::size_t>(r.panel[k])] = static_cast<std::int64_t>(k);
    }
    const bool v3 = r.hvg.flavor == HvgFlavor::seurat_v3;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> means(n, nan), second(n, nan), third(n, nan);
    for (std::size_t k = 0; k < r.hvg_candidates.size(); ++k) {
        const auto p = static_cast<std::size_t>(r.hvg_candidates[k]);
        means[p] = r.hvg.means[k];
        second[p] = v3 ? r.hvg.variances[k] : r.hvg.dispersions[k];
        third[p] = v3 ? r.hvg.variances_norm[k] : r.hvg.dispersions_norm[k];
    }
    std::vector<std::pair<std::string, Column>> cols;
    std::vector<bool> hv(in_panel.begin(), in_panel.end());
    cols.emplace_back("highly_variable", NdArray::from(hv));
    cols.emplace_back("means", NdArray::from(means));
    cols.emplace_back(v3 ? "variances" : "dispersions", NdArray::from(second));
    cols.emplace_back(v3 ? "variances_norm" : "dispersions_norm", NdArray::from(third));
    cols.emplace_back("scx_panel_position", NdArray::from(panel_pos));
    if (r.alignment) {
        std::vector<std::int64_t> ids(n, -1);
        for (std::size_t k = 0; k < r.alignment->positions.size(); ++k)
            ids[static_cast<std::size_t>(r.alignment->positions[k])] = r.alignment->vocab_ids[k];
        cols.emplace_back("scx_vocab_id", NdArray::from(ids));
    }
    return cols;
}

void write_output(const Args& a, Dataset& d, const PrepareResult& r, const nlohmann::ordered_json& summary) {
    Mapping provenance;
    provenance.set("summary_json", Element{StringArray{{}, {summary.dump()}}});
    provenance.set("flavor", Element{StringArray{{}, {summary["flavor"].get<std::string>()}}});
    provenance.set("n_top_genes", Element{NdArray::scalar<std::int64_t>(a.n_top_genes)});
    provenance.set("target_sum", Element{NdArray::scalar<double>(a.target_sum)});
    provenance.set("vocab_filter", Element{StringArray{{}, {summary["vocab_filter"].get<std::string>()}}});
    provenance.set("panel_order", Element{StringArray{{}, {a.panel_order}}});
    provenance.set("scextract_version", Element{StringArray{{}, {SCX_VERSION}}});
    std::vector<double> totals(r.cell_totals.begin(), r.cell_totals.end());

    if (a.subset) {
        // a new AnnData of the panel: X = log1p(normalize_total(counts)), layers['counts'] = counts
        // (layers['input'] = the input's log-normalised values when it held no counts)
        AnnData ad;
        ad.n_obs = d.matrix.n_rows;
        ad.n_vars = static_cast<std::int64_t>(r.panel.size());
        ad.X = from_csr(r.panel_log_normalized);
        ad.layers.set(summary["input_kind"] == "counts" ? "counts" : "input", Element{from_csr(select_columns(d.matrix, r.panel))});
        ad.obs = d.obs;
        ad.obs.set("scx_total_counts", NdArray::from(totals));
        const auto cols = var_columns(d, r);
        ad.var.index_name = d.var.index_name;
        for (auto p : r.panel) ad.var.index.push_back(d.var_names[static_cast<std::size_t>(p)]);
        for (const auto& [name, col] : d.var.columns) ad.var.set(name, take_rows(col, r.panel));
        for (const auto& [name, col] : cols) ad.var.set(name, take_rows(col, r.panel));
        if (d.format == "h5ad") {
            // cell-aligned elements stay valid on a gene subset: keep them
            auto meta = read_h5ad(a.input, {.read_X = false, .read_layers = false, .read_raw_X = false, .read_obsp = true});
            ad.obsm = std::move(meta.obsm);
            ad.obsp = std::move(meta.obsp);
            ad.uns = std::move(meta.uns);
        }
        ad.uns.set("scx_prepare", Element{provenance});
        write_h5ad(ad, a.out);
        return;
    }
    H5adAdditions add;
    add.obs_columns.emplace_back("scx_total_counts", NdArray::from(totals));
    // per-gene results go to var unless the counts came from raw.X (raw.var describes those genes)
    if (!a.raw) add.var_columns = var_columns(d, r);
    if (d.format != "h5ad" || a.raw)
        provenance.set("note", Element{StringArray{{}, {"per-gene results describe raw.var / the input's genes"}}});
    add.uns.set("scx_prepare", Element{provenance});
    write_dataset_with_additions(a.input, std::move(d), a.out, add);
}

} // namespace

Command add_prepare_command(CLI::App& root, GlobalOptions&) {
    auto args = std::make_shared<Args>();
    auto* app = root.add_subcommand(
        "prepare", "check counts, log-normalise, pick a highly variable gene panel and align it to a model vocabulary");
    app->add_option("input", args->input, "input .h5ad, 10x folder or .h5, or CSV")->required();
    auto* layer = app->add_option("--layer", args->layer, "take counts from this layer instead of X");
    app->add_flag("--raw", args->raw, "take counts from raw.X instead of X")->excludes(layer);
    add_input_kind_options(app, args->input_kind);
    app->add_option("--gene-column", args->gene_column,
                    "var column with gene symbols (default: var_names, or feature_name etc. when var_names are Ensembl ids)");
    app->add_option("--flavor", args->flavor,
                    "HVG flavour, as scanpy: seurat_v3 (on counts), seurat (on log data) or auto (seurat_v3 for counts, "
                    "seurat for log-normalised input)")
        ->check(CLI::IsMember({"auto", "seurat_v3", "seurat"}))
        ->capture_default_str();
    app->add_option("--n-top-genes", args->n_top_genes, "panel size")->check(CLI::PositiveNumber)->capture_default_str();
    app->add_option("--target-sum", args->target_sum, "normalize_total target")->check(CLI::PositiveNumber)->capture_default_str();
    app->add_option("--vocab", args->vocab, "model vocabulary (scGPT vocab.json) the panel must be in");
    app->add_option("--vocab-filter", args->vocab_filter,
                    "drop genes missing from the vocabulary before HVG selection (exactly n genes) or after it")
        ->check(CLI::IsMember({"before_hvg", "after_hvg"}))
        ->capture_default_str();
    app->add_option("--panel-order", args->panel_order, "panel order: hvg_rank (most variable first) or input")
        ->check(CLI::IsMember({"hvg_rank", "input"}))
        ->capture_default_str();
    app->add_option("--out", args->out,
                    "write an .h5ad: a copy of the input with var['highly_variable'] etc., obs['scx_total_counts'], "
                    "uns['scx_prepare']");
    app->add_flag("--subset", args->subset,
                  "with --out: write only the panel genes, X = log1p(normalize_total), layers['counts'] = counts");
    app->add_option("--json", args->json_out, "write the summary (with the panel) as JSON to this file ('-' for stdout)");
    return {app, [args](const Console& console) {
                const auto& a = *args;
                if (a.subset && a.out.empty()) throw UsageError("--subset needs --out");
                // no output replaces an input (the cells, the vocabulary) or the other output
                refuse_overwriting_inputs({a.out, a.json_out == "-" ? std::string() : a.json_out}, {a.input, a.vocab});
                auto bar = console.progress("prepare");
                bar->update(0, 4);
                auto d = read_dataset(a.input, {.layer = a.layer, .use_raw = a.raw});
                console.info(fmt::format("{}: {} cells x {} genes ({}, {})", a.input, d.matrix.n_rows, d.matrix.n_cols, d.format,
                                         d.matrix_source));
                bar->update(1, 4);
                const auto symbols = dataset_gene_symbols(d, a.input, a.gene_column, console);
                std::optional<GeneVocabulary> vocab;
                if (!a.vocab.empty()) vocab = read_vocab_json(a.vocab);
                const auto input = resolve_dataset_values(d, a.input_kind, a.input, a.layer, a.raw, console.threads(),
                                                          console.messages());
                CsrMatrix converted; // d keeps the file's values, for writing the copy
                const CsrMatrix& x = method_matrix(d, input, converted, console.threads());
                PrepareOptions o;
                o.flavor = resolve_hvg_flavor(a.flavor, input.normalized());
                o.normalized_input = input.normalized();
                o.n_top_genes = a.n_top_genes;
                o.target_sum = a.target_sum;
                o.vocab_filter = a.vocab_filter == "after_hvg" ? VocabFilter::after_hvg : VocabFilter::before_hvg;
                o.panel_order = a.panel_order == "input" ? PanelOrder::input : PanelOrder::hvg_rank;
                o.threads = console.threads();
                const auto r = prepare_panel(x, symbols, vocab ? &*vocab : nullptr, o,
                                             fmt::format("{} {}", a.input, d.matrix_source), counts_hint(d, a.layer, a.raw));
                bar->update(3, 4);
                bar->finish();
                console.info(fmt::format("values: {}", input.values.describe()));
                if (r.alignment) {
                    const auto& al = *r.alignment;
                    console.info(fmt::format("vocabulary {}: {} of {} genes matched ({:.1f}%)", a.vocab, al.positions.size(),
                                             al.n_genes, 100.0 * al.matched_fraction()));
                    if (!al.unmatched.empty())
                        console.detail(fmt::format("  all {} genes not in the vocabulary: {}", al.unmatched.size(),
                                                   fmt::join(al.unmatched, ", ")));
                    if (!al.unmatched.empty()) {
                        std::vector<std::string> head(al.unmatched.begin(),
                                                      al.unmatched.begin() + std::min<std::size_t>(al.unmatched.size(), 10));
                        console.info(fmt::format("  not in the vocabulary: {}{}", fmt::join(head, ", "),
                                                 al.unmatched.size() > 10 ? fmt::format(" ... ({} more)", al.unmatched.size() - 10) : ""));
                    }
                }
                if (static_cast<std::int64_t>(r.panel.size()) < a.n_top_genes)
                    console.warn(fmt::format("the panel has {} genes, fewer than the {} asked for", r.panel.size(), a.n_top_genes));
                std::vector<std::string> top;
                for (std::size_t k = 0; k < std::min<std::size_t>(r.panel.size(), 10); ++k)
                    top.push_back(symbols[static_cast<std::size_t>(r.panel[k])]);
                console.info(fmt::format("panel: {} genes ({} HVGs, vocabulary filter {}, order {}); first: {}", r.panel.size(),
                                         hvg_flavor_name(o.flavor), a.vocab.empty() ? "none" : a.vocab_filter, a.panel_order, fmt::join(top, ", ")));
                const auto summary = summary_json(a, d, input, r, symbols);
                if (a.json_out == "-") std::cout << summary.dump(2) << "\n";
                else if (!a.json_out.empty()) {
                    write_text_atomically(a.json_out, summary.dump(2) + "\n"); // a full disk is an error, not a short file
                }
                if (!a.out.empty()) {
                    write_output(a, d, r, summary);
                    console.info(fmt::format("wrote {}", a.out));
                }
            }};
}

} // namespace scx::cli
