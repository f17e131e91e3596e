/// @file interpret.cpp
/// @brief interpret_file(): the `interpret` verb for every front-end.

#include "scextract/interpret.hpp"

#include "scextract/apply.hpp"
#include "scextract/core/error.hpp"
#include "scextract/core/shuffle.hpp"
#include "scextract/extract/panel_features.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/gene_programs.hpp"
#include "scextract/io/gene_sets_gmt.hpp"
#include "scextract/io/ruler_json.hpp"
#include "scextract/report/interpret_report.hpp"
#include "scextract/version.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

namespace scx {

namespace fs = std::filesystem;

std::string bundled_gene_sets() {
    constexpr const char* kFile = "genesets/scextract_immune_v1.gmt";
    std::vector<fs::path> candidates;
    if (const char* env = std::getenv("SCX_DATA_DIR"); env && *env) candidates.emplace_back(fs::path(env) / kFile);
    candidates.emplace_back(fs::path(SCX_DATA_DIR) / kFile);
    for (const auto& c : candidates)
        if (fs::exists(c)) return c.string();
    throw Error(fmt::format("the bundled gene sets {} are not found (looked in $SCX_DATA_DIR and {}); pass --gmt FILE",
                            kFile, SCX_DATA_DIR));
}

namespace {

template <class T> std::vector<T> take(const std::vector<T>& v, const std::vector<std::int64_t>& rows) {
    if (v.empty()) return {};
    std::vector<T> out;
    for (const auto r : rows) out.push_back(v[static_cast<std::size_t>(r)]);
    return out;
}

} // namespace

InterpretFileResult interpret_file(const InterpretFileOptions& a, const MessageSink& messages) {
    refuse_overwriting_input(a.algorithm, a.out);
    refuse_overwriting_input(a.data.path, a.out);
    if (a.top_genes < 1) throw UsageError(fmt::format("interpret: --top-genes {} (need at least 1)", a.top_genes));
    if (a.max_cells < 1) throw UsageError(fmt::format("interpret: --max-cells {} (need at least 1)", a.max_cells));
    const auto t0 = std::chrono::steady_clock::now();
    InterpretFileResult result;
    auto& i = result.interpretation;
    i.algorithm = a.algorithm;
    i.data = a.data.path;
    i.software = std::string("scextract ") + version();
    i.top_genes = a.top_genes;
    i.enrichment_fdr = a.fdr;

    const Algorithm algorithm = read_algorithm(a.algorithm);
    i.features = algorithm.features.description;
    try {
        i.factors = operator_factors(algorithm.features, {.max_factors = a.max_factors});
    } catch (const Error& e) {
        throw Error(fmt::format("{}: {}", a.algorithm, e.what()));
    }
    // gene sets and programs first: a bad file fails before the ablation's minutes
    std::vector<GeneSet> sets;
    for (const auto& g : a.gmt) {
        const auto path = g == "default" ? bundled_gene_sets() : g;
        auto more = read_gmt(path);
        sets.insert(sets.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
        i.gene_set_files.push_back(path);
    }
    std::vector<GeneProgram> programs;
    if (!a.programs.empty()) programs = read_gene_programs(a.programs);

    const Ruler ruler = parse_ruler_text(algorithm.ruler_json, a.algorithm + " (its ruler)");
    auto data_options = a.data;
    data_options.threads = a.threads;
    const auto input = read_reference_cells(data_options, messages);
    const auto& d = input->data;
    const auto rows = seeded_sample(d.counts->n_rows, a.max_cells, a.seed, 0x1a7e);
    if (static_cast<std::int64_t>(rows.size()) < d.counts->n_rows)
        messages.note(fmt::format("scoring a seeded subsample of {} of the {} cells (--max-cells)", rows.size(), d.counts->n_rows));
    const CsrMatrix counts = static_cast<std::int64_t>(rows.size()) < d.counts->n_rows ? select_rows(*d.counts, rows) : *d.counts;
    const auto cells = make_bench_cells(counts, d.symbols, ruler, algorithm.ruler_json, take(d.labels, rows), take(d.donors, rows),
                                        take(d.tissues, rows),
                                        {.panel = algorithm.features.genes, .min_donors = 1, .threads = a.threads});
    if (cells.panel_match.missing_fraction() > 0.5)
        throw Error(fmt::format("{}: {} of the algorithm's {} panel genes are absent", a.data.path, cells.panel_match.missing.size(),
                                algorithm.features.n_genes()));
    if (!cells.panel_match.missing.empty())
        messages.warning(fmt::format("{} of the algorithm's {} panel genes are absent from {}; they are zero-filled",
                                     cells.panel_match.missing.size(), algorithm.features.n_genes(), a.data.path));
    const auto x = panel_expression(counts, cells.panel_match, {.target_sum = algorithm.target_sum, .threads = a.threads}).x;

    FactorAblationOptions ao;
    ao.core_size = a.core_size;
    ao.endpoints = a.endpoints;
    ao.endpoint.min_donor_cells = a.min_donor_cells;
    ao.threads = a.threads;
    ao.progress = a.progress;
    i.ablation = ablate_factors(algorithm, i.factors, cells, x, ao);
    if (!sets.empty()) {
        i.enrichment = enrich_factors(i.factors, sets, {.top_genes = a.top_genes});
        if (i.enrichment->sets_without_panel_genes > 0)
            messages.note(fmt::format("{} of the {} gene sets share no gene with the {}-gene panel", i.enrichment->sets_without_panel_genes,
                                      sets.size(), i.factors.genes.size()));
    }
    if (!programs.empty()) {
        i.programs = recover_programs(i.factors, programs,
                                      {.top_genes = a.top_genes, .factors = a.recovery_factors, .permutations = a.permutations,
                                       .fdr = a.fdr, .seed = a.seed});
        i.programs_source = a.programs;
    }

    const fs::path out(a.out);
    fs::create_directories(out);
    const std::vector<std::pair<std::string, std::string>> files{
        {"factors.tsv", interpretation_factors_tsv(i)},
        {"ablation.tsv", interpretation_ablation_tsv(i)},
        {"subsets.tsv", interpretation_subsets_tsv(i)},
        {"enrichment.tsv", interpretation_enrichment_tsv(i)},
        {"programs.tsv", interpretation_programs_tsv(i)},
        {"interpret.json", interpretation_json(i).dump(1) + "\n"},
        {"interpret.html", render_interpret_report_html(i)},
    };
    for (const auto& [name, text] : files) {
        if (name == "programs.tsv" && !i.programs) continue;
        write_text_atomically(out / name, text);
        result.files.push_back((out / name).string());
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

} // namespace scx
