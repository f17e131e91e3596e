/// @file bench.cpp
/// @brief bench_file(): the `bench` verb for every front-end.

#include "scextract/bench.hpp"

#include "scextract/api/input_cells.hpp"
#include "scextract/bench/bench_cells.hpp"
#include "scextract/bench/bench_config.hpp"
#include "scextract/bench/bench_results_json.hpp"
#include "scextract/core/error.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/output_paths.hpp"
#include "scextract/io/dataset.hpp"
#include "scextract/io/operator_file.hpp"
#include "scextract/io/label_map.hpp"
#include "scextract/io/ruler_json.hpp"
#include "scextract/io/sha256.hpp"
#include "scextract/bench/split_checkpoint.hpp"
#include "scextract/io/vocab_json.hpp"
#include "scextract/preprocess/count_check.hpp"
#include "scextract/report/bench_report.hpp"
#include "scextract/report/bench_report_chain.hpp"
#include "scextract/simulate/simulator.hpp"
#include "scextract/version.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

namespace {

/// The cells of a config: read from a file or simulated in memory.
struct LoadedCells {
    CsrMatrix counts; ///< counts, or expm1 of log-normalised input (normalized)
    bool normalized = false;
    std::vector<std::string> symbols, labels, donors, tissues;
    std::string description;
    std::string donor_note; ///< why cell folds stand in for donors; empty with donors
};

/// Drops the cells whose label maps to no stage of @p ruler, before any work, and returns
/// those labels with their cell counts (largest first).
std::vector<std::pair<std::string, std::int64_t>> drop_unmapped(LoadedCells& c, const Ruler& ruler) {
    const auto stage = stages_of_labels(ruler, c.labels);
    std::map<std::string, std::int64_t> off;
    std::vector<std::int64_t> keep;
    for (std::size_t i = 0; i < stage.size(); ++i) {
        if (stage[i] >= 0) keep.push_back(static_cast<std::int64_t>(i));
        else ++off[c.labels[i]];
    }
    std::vector<std::pair<std::string, std::int64_t>> unmapped(off.begin(), off.end());
    std::stable_sort(unmapped.begin(), unmapped.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    if (unmapped.empty()) return unmapped;
    if (keep.empty()) {
        std::vector<std::string> labels;
        for (const auto& [label, n] : off) labels.push_back(label);
        throw Error(fmt::format("bench: no cell label maps to a stage of ruler '{}' (labels: {}); map them with a label map "
                                "(data.label_map or --label-map)",
                                ruler.name, fmt::join(labels, ", ")));
    }
    const auto take = [&](std::vector<std::string>& v) {
        if (v.empty()) return;
        std::vector<std::string> kept;
        kept.reserve(keep.size());
        for (const auto i : keep) kept.push_back(std::move(v[static_cast<std::size_t>(i)]));
        v = std::move(kept);
    };
    take(c.labels);
    take(c.donors);
    take(c.tissues);
    c.counts = select_rows(c.counts, keep);
    return unmapped;
}

LoadedCells simulate_cells(const nlohmann::ordered_json& j, const Ruler& ruler, const std::string& config_path, int threads) {
    SimulationOptions o;
    const auto get = [&](const char* key, std::int64_t fallback) {
        if (!j.contains(key)) return fallback;
        if (!j.at(key).is_number_integer()) throw Error(fmt::format("{}: $.data.simulate.{} must be an integer", config_path, key));
        return j.at(key).get<std::int64_t>();
    };
    for (const auto& [k, v] : j.items())
        if (k != "cells" && k != "donors" && k != "genes" && k != "seed" && k != "null")
            throw Error(fmt::format("{}: $.data.simulate: unknown key '{}' (cells, donors, genes, seed, null)", config_path, k));
    o.n_cells = get("cells", 20000);
    o.n_donors = get("donors", 20);
    o.n_genes = get("genes", o.n_genes);
    o.seed = static_cast<std::uint64_t>(get("seed", 42));
    o.null_model = j.value("null", false);
    const auto vocab = read_vocab_symbols_by_id(std::string(SCX_DATA_DIR) + "/scgpt_whole_human_vocab.json");
    const auto design = [&] {
        try {
            return design_simulation(ruler, vocab, o);
        } catch (const Error& e) { // the simulator names no file; the config is where the values come from
            throw Error(fmt::format("{}: $.data.simulate: {}", config_path, e.what()));
        }
    }();
    LoadedCells c;
    std::vector<SimulatedCell> placed;
    c.counts = simulate_counts(design, 0, o.n_cells, threads, &placed);
    for (const auto& g : design.genes) c.symbols.push_back(g.symbol);
    for (const auto& p : placed) {
        c.labels.push_back(design.stage_labels[p.stage]);
        c.donors.push_back(design.donors[p.donor]);
        c.tissues.push_back(o.tissues[p.tissue]);
    }
    c.description = fmt::format("simulated in memory: {} cells, {} donors, {} genes, seed {}{}", o.n_cells, o.n_donors,
                                o.n_genes, o.seed, o.null_model ? ", null model" : "");
    return c;
}

LoadedCells read_cells(const BenchConfig& config, int threads, const MessageSink& messages) {
    const auto& spec = config.data;
    const auto path = bench_config_path(config, spec.path);
    auto d = read_dataset(path, {.layer = spec.layer, .use_raw = spec.raw});
    LoadedCells c;
    c.normalized = take_input_values(d, spec.input, path, spec.layer, spec.raw, threads, messages).normalized();
    c.symbols = dataset_gene_symbols(d, path, spec.gene_column, messages);
    c.labels = obs_strings(d, spec.label_key, path, "label_key");
    auto donors = cell_donors(d, path, spec.donor_key, "donor_key", c.labels, spec.cell_folds, config.options.splits.seed,
                              messages);
    c.donors = std::move(donors.donors);
    c.donor_note = std::move(donors.note);
    if (spec.tissue_key) c.tissues = obs_strings(d, *spec.tissue_key, path, "tissue_key");
    c.counts = std::move(d.matrix);
    c.description = path;
    return c;
}

/// What a run's results depend on beyond the code: the config as given, the data file (path,
/// size, modification time), the ruler with any label map, the overrides and the version.
std::string run_fingerprint(const BenchConfig& config, const BenchFileOptions& a, const std::string& ruler_json,
                            const std::string& data) {
    std::string text = fmt::format("scextract {}\nconfig {}\nruler {}\ndata {}\nsplits {}\n", version(), config.json.dump(),
                                   ruler_json, data, a.splits);
    if (!config.data.simulate) {
        const auto path = bench_config_path(config, config.data.path);
        std::error_code ec;
        const auto size = std::filesystem::file_size(path, ec);
        const auto time = std::filesystem::last_write_time(path, ec).time_since_epoch().count();
        text += fmt::format("file {} {} {}\n", std::filesystem::absolute(path).string(), size, time);
    }
    return sha256_hex(std::span(reinterpret_cast<const std::byte*>(text.data()), text.size()));
}

std::string format_value(double v) { return std::isfinite(v) ? fmt::format("{:.3f}", v) : "n/a"; }

} // namespace

BenchFileResult bench_file(const BenchFileOptions& a, const MessageSink& messages) {
    const auto t0 = std::chrono::steady_clock::now();
    auto config = read_bench_config(a.config);
    if (a.splits > 0) config.options.splits.n_splits = a.splits;
    if (!a.data.empty()) {
        config.data.path = std::filesystem::absolute(a.data).string();
        config.data.simulate.reset();
    }
    if (!a.label_map.empty()) config.data.label_map = std::filesystem::absolute(a.label_map).string();
    const Ruler ruler = load_ruler_with_label_map(config.ruler == "default" ? config.ruler : bench_config_path(config, config.ruler),
                                                  config.data.label_map.empty() ? "" : bench_config_path(config, config.data.label_map));
    const std::string ruler_json = ruler_to_json(ruler).dump();
    auto cells_in = config.data.simulate ? simulate_cells(*config.data.simulate, ruler, a.config, a.threads)
                                         : read_cells(config, a.threads, messages);
    // everything that can be checked is checked before any method runs
    const auto unmapped = drop_unmapped(cells_in, ruler);
    if (!unmapped.empty()) {
        std::int64_t n = 0;
        std::vector<std::string> listed;
        for (const auto& [label, count] : unmapped) n += count, listed.push_back(fmt::format("'{}' ({})", label, count));
        messages.warning(fmt::format("{} labels ({} cells) map to no stage of ruler '{}' and are left out: {}; map them with "
                                     "data.label_map or --label-map",
                                     unmapped.size(), n, ruler.name, fmt::join(listed, ", ")));
    }
    if (cells_in.normalized)
        for (std::size_t i = 0; i < config.methods.size(); ++i)
            if (config.methods[i].type == "scvi")
                throw Error(fmt::format("{}: $.methods[{}] ('{}'): scVI models raw counts, and the data hold log-normalised "
                                        "values; remove it or give the counts",
                                        a.config, i, config.methods[i].name));
    const auto& panel_spec = config.json.contains("panel") ? config.json.at("panel") : nlohmann::ordered_json();
    if (!config.panel_from && panel_spec.is_object() && panel_spec.contains("size") &&
        config.panel_size > cells_in.counts.n_cols)
        throw Error(fmt::format("{}: $.panel.size: {} is more than the {} genes of the data", a.config, config.panel_size,
                                cells_in.counts.n_cols));
    BenchCellsOptions co;
    co.panel_size = config.panel_size;
    co.threads = a.threads;
    co.normalized_values = cells_in.normalized;
    if (config.panel_from) co.panel = read_operator_file(bench_config_path(config, *config.panel_from)).genes;
    const auto cells = make_bench_cells(cells_in.counts, cells_in.symbols, ruler, ruler_json, cells_in.labels,
                                        cells_in.donors, cells_in.tissues, co);
    messages.note(fmt::format("{} cells, {} donors, {} tissues, panel of {} genes; {} methods x {} splits",
                             cells.n_cells(), cells.donor_names.size(), cells.tissue_names.size(),
                             cells.panel.size(), config.methods.size(), config.options.splits.n_splits));
    const auto methods = make_bench_methods(config, cells);
    // every finished method x split is kept in out/checkpoint/ until the outputs are written
    const std::filesystem::path out(a.out);
    // a failed run leaves no folder it made, unless finished method x splits are kept in
    // its checkpoint for --resume (not on a signal: an interrupted run is resumed too)
    OutputFolder folder(out, false);
    const SplitCheckpoint checkpoint(out / "checkpoint", run_fingerprint(config, a, ruler_json, cells_in.description), a.resume);
    struct KeepResumable { // finished method x splits stay for --resume, even in a folder this run made
        OutputFolder& folder;
        const SplitCheckpoint& checkpoint;
        ~KeepResumable() {
            std::error_code ec;
            for (auto it = std::filesystem::directory_iterator(checkpoint.folder(), ec); !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
                if (it->path().extension() == ".split") {
                    folder.keep();
                    return;
                }
        }
    } keep_resumable{folder, checkpoint};
    if (a.resume)
        messages.note(fmt::format("resuming: {} finished method x splits in {}", checkpoint.records_found(),
                                  checkpoint.folder().string()));
    auto options = config.options;
    options.threads = a.threads;
    options.checkpoint = &checkpoint;
    auto bar = a.progress_bar ? a.progress_bar("bench") : nullptr;
    if (bar) options.progress = bar->callback();
    // one line per method x split: long runs show where they are, on a terminal or in a log
    options.log = [&messages](const std::string& line) { messages.note(line); };
    BenchFileResult out_result;
    out_result.result = run_bench(cells, methods, options);
    out_result.resumed = checkpoint.records_found();
    const auto& result = out_result.result;
    if (bar) bar->finish();

    BenchProvenance prov;
    prov.scextract_version = version();
    prov.command = a.command.empty() ? fmt::format("scextract bench --config {} --out {}", a.config, a.out) : a.command;
    prov.config = config.json;
    prov.data_path = cells_in.description;
    prov.label_key = config.data.label_key;
    prov.donor_key = config.data.donor_key;
    prov.tissue_key = config.data.simulate ? std::optional<std::string>("tissue") : config.data.tissue_key;
    prov.input_kind = cells_in.normalized ? "lognorm" : "counts";
    prov.split_unit_note = cells_in.donor_note;
    prov.unmapped_labels = unmapped;
    const auto results = bench_results_json(result, cells, prov);
    // the report and the chain table read what results.json holds, as `scextract report` would
    const auto read_back = report::parse_results(nlohmann::json(results), a.out + "/results.json");
    const std::string html = render_bench_report_html(read_back);

    // all the result files or none (the checkpoint stays until they are all written)
    std::vector<std::pair<std::string, std::string>> files{{"results.json", results.dump(1) + "\n"},
                                                           {"scores_by_split.tsv", bench_split_scores_tsv(result)},
                                                           {"scores_by_donor.tsv", bench_donor_scores_tsv(result, cells)},
                                                           {"comparisons.tsv", bench_comparisons_tsv(result)},
                                                           {"report.html", html}};
    if (config.compression_chain) files.emplace_back("compression_chain.tsv", report::compression_chain_tsv(read_back));
    try {
        for (const auto& [name, text] : files) {
            write_text_atomically(out / name, text);
            out_result.files.push_back(name);
        }
    } catch (...) {
        std::error_code ec;
        for (const auto& name : out_result.files) std::filesystem::remove(out / name, ec);
        throw;
    }
    folder.keep();

    checkpoint.remove();

    // A compact endpoint table on the console: mean over splits per method.
    std::string& table = out_result.summary_table;
    table = fmt::format("{:<18}", "method");
    for (const auto& e : result.endpoints) table += fmt::format(" {:>10.10}", e.name);
    for (const auto& m : result.methods) {
        table += fmt::format("\n{:<18}", m.info.name);
        for (std::size_t e = 0; e < result.endpoints.size(); ++e) {
            double s = 0;
            std::int64_t n = 0;
            for (const auto& sc : m.scores)
                if (std::isfinite(sc.split_value[e])) s += sc.split_value[e], ++n;
            table += fmt::format(" {:>10}", format_value(n ? s / static_cast<double>(n) : std::nan("")));
        }
    }
    out_result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out_result;
}

} // namespace scx
