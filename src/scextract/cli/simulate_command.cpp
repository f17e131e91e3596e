/// @file simulate_command.cpp
/// @brief `scextract simulate`: a donor-aware simulated data set on a ruler's stage graph.

#include "scextract/cli/command.hpp"
#include "scextract/cli/input_matrix.hpp"
#include "scextract/cli/training_data.hpp"
#include "scextract/core/error.hpp"
#include "scextract/validate/realism.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/output_paths.hpp"
#include "scextract/io/dataset.hpp"
#include "scextract/io/ruler_json.hpp"
#include "scextract/io/sha256.hpp"
#include "scextract/io/vocab_json.hpp"
#include "scextract/preprocess/count_check.hpp"
#include "scextract/simulate/calibration_json.hpp"
#include "scextract/simulate/simulation_h5ad.hpp"
#include "scextract/simulate/stage_markers.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <fmt/format.h>

namespace scx::cli {

namespace {

struct ReferenceArgs {
    std::string label_key = "cell_type", donor_key, layer, gene_column;
    bool raw = false;
    CalibrationOptions calibration;
};

/// Estimates a calibration from the reference file @p path.
Calibration calibrate_from_file(const std::string& path, const ReferenceArgs& a, const Ruler& ruler,
                                const Console& console) {
    DatasetReadOptions ro;
    ro.layer = a.layer;
    ro.use_raw = a.raw;
    const auto d = read_dataset(path, ro);
    const auto symbols = dataset_gene_symbols(d, path, a.gene_column, console);
    const auto labels = obs_strings(d, a.label_key, path, "--label-key");
    const auto donors = a.donor_key.empty() ? std::vector<std::string>{} : obs_strings(d, a.donor_key, path, "--donor-key");
    auto cal = calibrate_simulation(d.matrix, symbols, labels, donors, ruler,
                                    std::filesystem::path(path).filename().string(), a.calibration);
    cal.source_sha256 = sha256_file_hex(path);
    cal.label_key = a.label_key;
    cal.donor_key = a.donor_key;
    std::vector<std::string> profiled;
    for (const auto& st : cal.stages) profiled.push_back(fmt::format("{} ({} cells)", st.stage, st.n_cells));
    console.info(fmt::format("calibrated on {}: {} cells x {} genes; stages profiled: {}", path, cal.n_cells,
                             cal.genes.size(), fmt::join(profiled, ", ")));
    if (!cal.unmapped_labels.empty())
        console.info(fmt::format("labels on no stage (dispersions only): {}", fmt::join(cal.unmapped_labels, ", ")));
    console.info(cal.donor_effects_estimated
                     ? fmt::format("donor effects from {} donors: gene sd {:.3f}, library sdlog {:.3f}, composition sd {:.3f}",
                                   cal.n_donors, cal.donor_gene_sd, cal.donor_library_sdlog, cal.donor_composition_sd)
                     : std::string("donor effects not estimated (no --donor-key, or one donor): the options' values are used"));
    return cal;
}

/// `--compare SIM REAL --out DIR`.
void compare_files(const std::vector<std::string>& files, const ReferenceArgs& a, const std::string& out,
                   const Console& console) {
    std::vector<std::string> markers;
    for (const auto& st : default_hematopoiesis_ruler().stages)
        for (const auto& m : stage_markers(st.name)) markers.push_back(m);
    std::vector<RealismSummary> summaries;
    for (std::size_t i = 0; i < files.size(); ++i) {
        DatasetReadOptions ro;
        // the layer / raw options describe the real file; the simulated one holds counts in X
        if (i == 1) {
            ro.layer = a.layer;
            ro.use_raw = a.raw;
        }
        const auto d = read_dataset(files[i], ro);
        require_counts(inspect_values(d.matrix), files[i] + " " + d.matrix_source,
                       "compare raw counts; " + counts_hint(d, ro.layer, ro.use_raw));
        const auto symbols = dataset_gene_symbols(d, files[i], a.gene_column, console);
        const std::string key = i == 0 ? "donor" : a.donor_key;
        std::vector<std::string> donors;
        if (!key.empty() && d.obs.find(key) != nullptr) donors = obs_strings(d, key, files[i], "--donor-key");
        summaries.push_back(
            summarize_realism(d.matrix, symbols, donors, markers, std::filesystem::path(files[i]).filename().string()));
    }
    const auto c = compare_realism(std::move(summaries[0]), std::move(summaries[1]));
    write_realism_report(c, out);
    for (const auto& st : c.statistics)
        console.info(fmt::format("{:<22} {:<18} {}{}", st.name, st.distance,
                                 std::isfinite(st.value) ? fmt::format("{:.3f}", st.value) : std::string("NA"),
                                 st.note.empty() ? "" : " (" + st.note + ")"));
    console.info(fmt::format("wrote {}/realism.tsv, realism.json, realism.svg", out));
}

} // namespace

Command add_simulate_command(CLI::App& root, GlobalOptions& g) {
    struct Args {
        std::string out, ruler = "default", vocab = std::string(SCX_DATA_DIR) + "/scgpt_whole_human_vocab.json";
        std::vector<std::string> tissues{"bone_marrow", "blood"};
        SimulationOptions sim;
        std::int64_t block_size = 8192;
        int gzip = 4;
        std::uint64_t design_seed = 0;
        std::string calibrate, calibration, calibration_out;
        std::vector<std::string> compare;
        ReferenceArgs ref;
        std::string composition = "graph";
    };
    auto args = std::make_shared<Args>();
    auto* app = root.add_subcommand("simulate", "simulated raw counts on a ruler's stage graph, with donors and tissues");
    app->add_option("--cells", args->sim.n_cells, "number of cells")->check(CLI::PositiveNumber)->capture_default_str();
    app->add_option("--donors", args->sim.n_donors, "number of donors")->check(CLI::PositiveNumber)->capture_default_str();
    app->add_option("--genes", args->sim.n_genes, "number of genes (real symbols from the vocabulary)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--out", args->out, "output .h5ad (with --compare: the report folder)");
    auto* design_seed =
        app->add_option("--design-seed", args->design_seed,
                        "seed of the design (genes, programs, calibration); the global --seed then draws donors and "
                        "cells, so files with new donors share one design (default: the global --seed, donors "
                        "included)");
    auto* calibrate = app->add_option("--calibrate", args->calibrate,
                                      "real reference (.h5ad, 10x, CSV; raw counts with cell-type labels) to estimate "
                                      "the bed's statistics from (docs/simulation.md)");
    auto* calibration = app->add_option("--calibration", args->calibration,
                                        "a calibration file written by --calibrate: rebuild a bed without the reference")
                            ->excludes(calibrate);
    app->add_option("--calibration-out", args->calibration_out,
                    "where --calibrate writes its estimates (default: OUT with .calibration.json)")
        ->needs(calibrate);
    app->add_option("--compare", args->compare,
                                    "SIM REAL: compare a simulated and a real count file; writes realism.tsv, "
                                    "realism.json and realism.svg into --out")
                        ->expected(2)
                        ->excludes(calibrate)
                        ->excludes(calibration);
    app->add_option("--label-key", args->ref.label_key, "--calibrate: obs column with cell-type labels")
        ->capture_default_str();
    app->add_option("--donor-key", args->ref.donor_key,
                    "--calibrate / --compare: obs column with donors of the real file (none: donor effects not estimated)");
    app->add_option("--layer", args->ref.layer, "--calibrate / --compare: take the real file's counts from this layer");
    app->add_flag("--raw", args->ref.raw, "--calibrate / --compare: take the real file's counts from raw.X");
    app->add_option("--gene-column", args->ref.gene_column, "var column with gene symbols of the real file");
    app->add_option("--min-cells", args->ref.calibration.min_cells,
                    "--calibrate: fewest reference cells accepted (estimates from fewer are noisy)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--composition", args->composition,
                    "calibrated beds: 'graph' (cells along every edge of the ruler) or 'reference' (cells at the "
                    "reference's stages in its proportions, for realism and difficulty checks)")
        ->check(CLI::IsMember({"graph", "reference"}))
        ->capture_default_str();
    app->add_option("--within-type-scale", args->sim.within_type_scale,
                    "calibrated beds: scale of the reference's within-type components (0: genes vary independently)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app->add_option("--cell-offset", args->sim.cell_offset,
                    "index of the first cell: the same seed with another offset gives new cells of the same design")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app->add_flag("--null", args->sim.null_model,
                  "negative control: same cell types, donors and tissues, developmental structure removed");
    app->add_option("--ruler", args->ruler, "ruler JSON, or 'default' (the built-in hematopoiesis graph)")
        ->capture_default_str();
    app->add_option("--vocab", args->vocab, "vocab.json whose gene symbols the simulation uses")->capture_default_str();
    app->add_option("--tissues", args->tissues, "tissue names (the first favours progenitors, the last mature cells)")
        ->delimiter(',')
        ->capture_default_str();
    app->add_option("--library-size", args->sim.library_size_mean, "median total counts per cell")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--theta", args->sim.nb_theta, "negative binomial inverse dispersion")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--donor-gene-sd", args->sim.donor_gene_sd, "sd of per-donor gene log effects")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app->add_option("--block-size", args->block_size, "cells generated and written at a time (bounds memory)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--gzip", args->gzip, "gzip level of X (0 = none)")->check(CLI::Range(0, 9))->capture_default_str();
    return {app, [args, &g, design_seed](const Console& console) {
                auto& a = *args;
                const auto t0 = std::chrono::steady_clock::now();
                if (!a.compare.empty()) {
                    if (a.out.empty()) throw UsageError("simulate --compare needs --out FOLDER");
                    compare_files(a.compare, a.ref, a.out, console);
                    return;
                }
                // no output may replace an input: the ruler or a calibration read here
                refuse_overwriting_inputs({a.out, a.calibration_out},
                                          {a.ruler == "default" ? std::string() : a.ruler, a.calibration, a.calibrate, a.vocab});
                const Ruler ruler = load_ruler(a.ruler);
                std::optional<Calibration> cal;
                if (!a.calibrate.empty()) {
                    cal = calibrate_from_file(a.calibrate, a.ref, ruler, console);
                    std::string path = a.calibration_out;
                    if (path.empty()) {
                        if (a.out.empty()) throw UsageError("simulate --calibrate needs --out or --calibration-out");
                        path = std::filesystem::path(a.out).replace_extension(".calibration.json").string();
                    }
                    refuse_overwriting_inputs({a.out, path}, {a.calibrate, a.ruler == "default" ? std::string() : a.ruler, a.vocab});
                    write_calibration_json(*cal, path);
                    console.info(fmt::format("wrote {}", path));
                    if (a.out.empty()) return;
                } else if (!a.calibration.empty()) {
                    cal = read_calibration_json(a.calibration);
                }
                if (a.out.empty()) throw UsageError("simulate needs --out");
                if (!std::filesystem::exists(a.vocab))
                    throw Error(fmt::format("{}: vocabulary not found (pass --vocab, e.g. a checkpoint's vocab.json)", a.vocab));
                SimulationOptions o = a.sim;
                o.seed = g.seed;
                if (design_seed->count() > 0) o.design_seed = a.design_seed;
                o.tissues = a.tissues;
                o.ruler_source = a.ruler == "default" ? "built-in ruler (data/rulers/hematopoiesis.json)" : a.ruler;
                o.composition = a.composition == "reference" ? SimulationComposition::reference : SimulationComposition::graph;
                if (!cal && (a.composition != "graph" || o.within_type_scale != 1.0))
                    throw UsageError("--composition and --within-type-scale apply to calibrated beds (--calibrate or --calibration)");
                const auto vocabulary = read_vocab_symbols_by_id(a.vocab);
                const auto design = cal ? design_calibrated_simulation(ruler, *cal, vocabulary, o)
                                        : design_simulation(ruler, vocabulary, o);
                if (cal && !design.interpolated_stages.empty())
                    console.info(fmt::format("stages the reference lacks, interpolated from their nearest profiled "
                                             "stages plus known markers: {}",
                                             fmt::join(design.interpolated_stages, ", ")));
                console.info(fmt::format("simulating {} cells x {} genes, {} donors, {} tissues on ruler '{}' ({} stages){}",
                                         o.n_cells, design.genes.size(), o.n_donors, o.tissues.size(), ruler.name,
                                         ruler.stages.size(), o.null_model ? ", null model" : ""));
                auto bar = console.progress("simulate");
                SimulationWriteOptions w;
                w.block_size = a.block_size;
                w.threads = console.threads();
                w.gzip_level = a.gzip;
                w.progress = bar->callback();
                const auto r = write_simulation_h5ad(design, a.out, w);
                bar->finish();
                const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                console.info(fmt::format("wrote {}: {} cells x {} genes, {} non-zeros ({:.1f}% dense), {:.1f} s", a.out,
                                         r.n_cells, r.n_genes, r.nnz,
                                         100.0 * static_cast<double>(r.nnz) /
                                             static_cast<double>(r.n_cells * r.n_genes),
                                         seconds));
            }};
}

} // namespace scx::cli
