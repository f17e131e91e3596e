/// @file simulate_command.cpp
/// @brief `scextract simulate`: a donor-aware simulated data set on a ruler's stage graph.

#include "scextract/cli/command.hpp"
#include "scextract/core/error.hpp"
#include "scextract/io/ruler_json.hpp"
#include "scextract/io/vocab_json.hpp"
#include "scextract/simulate/simulation_h5ad.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <fmt/format.h>

namespace scx::cli {

Command add_simulate_command(CLI::App& root, GlobalOptions& g) {
    struct Args {
        std::string out, ruler = "default", vocab = std::string(SCX_DATA_DIR) + "/scgpt_whole_human_vocab.json";
        std::vector<std::string> tissues{"bone_marrow", "blood"};
        SimulationOptions sim;
        std::int64_t block_size = 8192;
        int gzip = 4;
    };
    auto args = std::make_shared<Args>();
    auto* app = root.add_subcommand("simulate", "simulated raw counts on a ruler's stage graph, with donors and tissues");
    app->add_option("--cells", args->sim.n_cells, "number of cells")->check(CLI::PositiveNumber)->capture_default_str();
    app->add_option("--donors", args->sim.n_donors, "number of donors")->check(CLI::PositiveNumber)->capture_default_str();
    app->add_option("--genes", args->sim.n_genes, "number of genes (real symbols from the vocabulary)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--out", args->out, "output .h5ad")->required();
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
    return {app, [args, &g](const Console& console) {
                auto& a = *args;
                const auto t0 = std::chrono::steady_clock::now();
                const Ruler ruler = a.ruler == "default" ? default_hematopoiesis_ruler() : read_ruler_json(a.ruler);
                if (!std::filesystem::exists(a.vocab))
                    throw Error(fmt::format("{}: vocabulary not found (pass --vocab, e.g. a checkpoint's vocab.json)", a.vocab));
                SimulationOptions o = a.sim;
                o.seed = g.seed;
                o.tissues = a.tissues;
                const auto design = design_simulation(ruler, read_vocab_symbols_by_id(a.vocab), o);
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
