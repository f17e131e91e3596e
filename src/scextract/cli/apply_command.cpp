/// @file apply_command.cpp
/// @brief `scextract apply`: parse, then the library's apply_file() (include/scextract/apply.hpp).

#include "scextract/apply.hpp"
#include "scextract/cli/command.hpp"
#include "scextract/cli/input_matrix.hpp"

#include <fmt/format.h>

namespace scx::cli {

Command add_apply_command(CLI::App& root, GlobalOptions& g) {
    auto args = std::make_shared<ApplyFileOptions>();
    auto* app = root.add_subcommand("apply", "place new cells with an algorithm file (no model needed); writes a copy of the input");
    app->add_option("--algorithm", args->algorithm, "algorithm file from `scextract fit` (.scx)")->required();
    app->add_option("--input", args->input, "cells to annotate (.h5ad, 10x, CSV): raw counts or log-normalised values")->required();
    app->add_option("--out", args->out, "output .h5ad: the input with obsm['X_scx'], obs['scx_*'] and uns['scx']")->required();
    auto* layer = app->add_option("--layer", args->layer, "take counts from this layer instead of X");
    app->add_flag("--raw", args->raw, "take counts from raw.X")->excludes(layer);
    app->add_option("--gene-column", args->gene_column, "var column with gene symbols (default: automatic)");
    add_input_kind_options(app, args->apply.input);
    app->add_option("--max-missing", args->apply.max_missing_fraction, "refuse input missing more than this fraction of the panel")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    app->add_option("--chunk-size", args->apply.chunk_rows,
                    "cells per chunk when streaming an .h5ad (rounded up to a multiple of 256); memory grows with it, "
                    "the results do not change")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40))
        ->capture_default_str();
    app->add_flag("--exact-features", args->apply.exact_features,
                  "form every cell's features as fit does, instead of the folded plan low-rank and sparse-factor "
                  "algorithms use by default (same results up to rounding, several times slower)");
    app->add_option("--ood-warn", args->apply.ood_warn_fraction,
                    "warn when more than this fraction of the cells is out of distribution (obs['scx_ood']; "
                    "about 0.01-0.02 for cells like the training cells)")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    return {app, [args, &g](const Console& console) {
                (void)g;
                auto a = *args;
                a.apply.threads = console.threads();
                auto bar = console.progress("apply");
                a.apply.progress = bar->callback();
                const auto r = apply_file(a, console.messages());
                bar->finish();
                console.info(fmt::format("placed {} cells ({}-D latent) in {:.2f} s{}; wrote {}", r.cells, r.latent_dim, r.seconds,
                                         r.streamed ? " (streamed)" : "", a.out));
                console.info(describe_ood(r.ood));
            }};
}

} // namespace scx::cli
