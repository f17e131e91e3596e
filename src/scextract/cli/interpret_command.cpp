/// @file interpret_command.cpp
/// @brief `scextract interpret`: parse, then the library's interpret_file()
/// (include/scextract/interpret.hpp), then print the summary.

#include "scextract/cli/command.hpp"
#include "scextract/cli/training_data.hpp"
#include "scextract/interpret.hpp"

#include <iostream>

#include <fmt/format.h>

namespace scx::cli {

Command add_interpret_command(CLI::App& root, GlobalOptions& g) {
    auto args = std::make_shared<InterpretFileOptions>();
    auto& a = *args;
    auto* app = root.add_subcommand(
        "interpret", "what an algorithm's operator knows: factors with read / write genes, fixed-probe factor ablation on "
                     "held-out cells, the core and its subsets, gene programs (HTML page and TSVs)");
    app->add_option("--algorithm", a.algorithm, "algorithm from `scextract fit --features head|rank|sparse` (.scx)")->required();
    add_training_options(app, a.data, "--data");
    app->add_option("--out", a.out, "output folder (factors.tsv, ablation.tsv, subsets.tsv, enrichment.tsv, interpret.json, "
                                    "interpret.html)")
        ->required();
    app->add_option("--gmt", a.gmt, "gene-set files (GMT); 'default' is the bundled collection, 'none' skips enrichment")
        ->delimiter(',')
        ->capture_default_str();
    app->add_option("--programs", a.programs, "known gene programs to recover (an .h5ad of `simulate`, or JSON)");
    app->add_option("--top-genes", a.top_genes, "read / write genes per factor")->check(CLI::PositiveNumber)->capture_default_str();
    app->add_option("--factors", a.max_factors, "factors of a dense head (its top singular triplets)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--core", a.core_size, "factors of the core (its 2^core - 1 subsets are scored)")
        ->check(CLI::Range(1, 10))
        ->capture_default_str();
    app->add_option("--endpoints", a.endpoints, "endpoints to score (default: every one the labels support)")->delimiter(',');
    app->add_option("--min-donor-cells", a.min_donor_cells, "labelled cells a donor needs for an endpoint")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--max-cells", a.max_cells, "score a seeded subsample above this many cells")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--permutations", a.permutations, "random gene sets per program size in the recovery null")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--fdr", a.fdr, "q threshold (enrichment, recovery)")->check(CLI::Range(0.0, 1.0))->capture_default_str();
    return {app, [args, &g](const Console& console) {
                auto o = *args;
                if (o.gmt.size() == 1 && o.gmt.front() == "none") o.gmt.clear();
                o.seed = g.seed;
                o.threads = console.threads();
                o.data.threads = console.threads();
                auto bar = console.progress("ablation");
                o.progress = bar->callback();
                const auto r = interpret_file(o, console.messages());
                bar->finish();
                const auto& i = r.interpretation;
                std::string shares;
                for (const auto& [n, share] : i.ablation.top_share) shares += fmt::format(" top-{} {:.1f}%", n, 100 * share);
                std::vector<std::string> core;
                for (const auto f : i.ablation.core) core.push_back(OperatorFactors::name(f));
                std::cout << fmt::format("{} factors; impact share:{}; core {}\n", i.factors.size(), shares, fmt::join(core, "+"));
                if (i.programs)
                    std::cout << fmt::format("known programs recovered: {} of {} (median best-match Jaccard {:.3f})\n",
                                             i.programs->n_recovered, i.programs->programs.size(), i.programs->median_jaccard);
                console.info(fmt::format("interpreted in {:.1f} s; wrote {} files to {}", r.seconds, r.files.size(), o.out));
            }};
}

} // namespace scx::cli
