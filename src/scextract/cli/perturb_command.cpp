/// @file perturb_command.cpp
/// @brief `scextract perturb`: parse, then the library's perturb_file() (include/scextract/perturb.hpp).

#include "scextract/cli/command.hpp"
#include "scextract/cli/input_matrix.hpp"
#include "scextract/core/error.hpp"
#include "scextract/perturb.hpp"

#include <iostream>

#include <fmt/format.h>

namespace scx::cli {

Command add_perturb_command(CLI::App& root, GlobalOptions& g) {
    auto args = std::make_shared<PerturbFileOptions>();
    auto mode = std::make_shared<std::string>("knockout");
    auto& a = *args;
    auto* app = root.add_subcommand("perturb", "in-silico perturbation through an algorithm's operator (no model): per-cell "
                                               "shifts of depth, branch and stage, against random gene sets");
    app->add_option("--algorithm", a.algorithm, "algorithm file from `scextract fit` (.scx)")->required();
    app->add_option("--input", a.input, "cells (.h5ad) with raw counts")->required();
    app->add_option("--out", a.out, "output .h5ad: the input with obs['scx_perturb_*'], obsm['scx_perturb_*'], uns['scx_perturb']")
        ->required();
    auto* genes = app->add_option("--genes", a.perturbation.genes, "panel genes to perturb (comma-separated)")->delimiter(',');
    auto* factor = app->add_option("--factor", a.perturbation.factor, "or: this operator factor (0-based, as f00..)")
                       ->check(CLI::NonNegativeNumber);
    auto* program = app->add_option("--program", a.program, "or: the genes of this program of --programs");
    app->add_option("--programs", a.programs_file, "programs file for --program (.h5ad of `simulate`, JSON or GMT)")->needs(program);
    program->needs("--programs");
    genes->excludes(factor);
    factor->excludes(genes);
    program->excludes(genes)->excludes(factor);
    app->add_option("--mode", *mode, "knockout (genes to 0, factor removed) or overexpress (genes to their highest value in "
                                     "the input, factor doubled)")
        ->check(CLI::IsMember({"knockout", "overexpress"}))
        ->capture_default_str();
    app->add_option("--null-sets", a.perturbation.null_sets, "random gene sets of the same size and expression level")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--summary", a.summary, "summary TSV (default: OUT with .perturb.tsv)");
    auto* layer = app->add_option("--layer", a.layer, "take counts from this layer instead of X");
    app->add_flag("--raw", a.raw, "take counts from raw.X")->excludes(layer);
    add_input_kind_options(app, a.input_kind);
    app->add_option("--gene-column", a.gene_column, "var column with gene symbols (default: automatic)");
    return {app, [args, mode, &g](const Console& console) {
                auto o = *args;
                if (o.perturbation.genes.empty() && o.perturbation.factor < 0 && o.program.empty())
                    throw UsageError("perturb: give --genes, --program or --factor");
                o.perturbation.mode = parse_perturbation_mode(*mode);
                o.perturbation.seed = g.seed;
                o.perturbation.threads = console.threads();
                auto bar = console.progress("perturb");
                o.perturbation.progress = bar->callback();
                const auto r = perturb_file(o, console.messages());
                bar->finish();
                std::int64_t significant = 0;
                for (const auto& s : r.perturbation.summary) {
                    if (s.direction.empty()) continue;
                    ++significant;
                    std::cout << fmt::format("{}\t{}\tshift {:+.4f} (null {:+.4f} +- {:.4f}, z {:+.1f}), q {:.3g}\n", s.output, s.direction,
                                             s.shift, s.null_mean, s.null_sd, s.z, s.q);
                }
                console.info(fmt::format("{} of {} outputs shift beyond {} random gene sets (q < {}); wrote {} and {}", significant,
                                         r.perturbation.summary.size(), r.perturbation.null_sets, o.perturbation.fdr, o.out,
                                         r.summary));
            }};
}

} // namespace scx::cli
