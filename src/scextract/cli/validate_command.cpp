/// @file validate_command.cpp
/// @brief `scextract validate`: parse, then the library's validate_file()
/// (include/scextract/validate.hpp), then print its table.

#include "scextract/cli/command.hpp"
#include "scextract/cli/feature_options.hpp"
#include "scextract/cli/training_data.hpp"
#include "scextract/validate.hpp"

#include <iostream>

#include <fmt/format.h>

namespace scx::cli {

Command add_validate_command(CLI::App& root, GlobalOptions& g) {
    struct Args {
        ValidateFileOptions validate;
        FeatureArgs features;
        bool no_controls = false;
    };
    auto args = std::make_shared<Args>();
    auto& v = args->validate;
    auto* app = root.add_subcommand(
        "validate", "validate a manifold: trustworthiness, geodesic-ruler correlation, holdout gates, blocked permutation "
                    "test (p <= 0.001) and dimension sweep, beside a null simulation, a label-lookup and a null-ruler control");
    auto* op = app->add_option("--operator", v.operator_file, "operators from `scextract export` (.scxop); the adaptor is fitted on --data");
    auto* algo = app->add_option("--algorithm", v.algorithm, "an algorithm from `scextract fit` (.scx): its features and fit settings")
                     ->excludes(op);
    op->excludes(algo);
    app->add_flag("--held-out", v.held_out,
                  "--data was not used to fit --algorithm: use its adaptor frozen (the permutation test does not refit)")
        ->needs(algo);
    add_training_options(app, v.data, "--data");
    app->add_option("--ruler", v.ruler, "ruler JSON, or 'default'")->capture_default_str();
    app->add_option("--label-map", v.label_map, "TSV of label<TAB>stage added to the ruler's labels, ahead of its synonyms");
    app->add_option("--out", v.out, "results to write (.json)")->required();
    app->add_option("--k", v.k, "latent dimension")->check(CLI::PositiveNumber)->capture_default_str();
    app->add_option("--alpha", v.alpha, "reconstruction weight of the adaptor")->check(CLI::NonNegativeNumber)->capture_default_str();
    app->add_option("--epochs", v.epochs, "Adam steps of every adaptor fit but the permutations' (default 400)");
    app->add_option("--permutation-epochs", v.permutation_epochs,
                    "Adam steps of each permutation refit; the observed statistic uses the same")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--permutations", v.permutations,
                    "permutations of the blocked test (METHOD.md: >= 2,000; the gate p <= 0.001 needs >= 999; 0 skips it and fails)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app->add_option("--max-cells", v.max_cells, "cells subsampled for trustworthiness and the geodesic correlation (<= 10,000)")
        ->check(CLI::Range(31, 10000))
        ->capture_default_str();
    app->add_option("--dims", v.dimensions, "latent dimensions of the sweep")->delimiter(',')->capture_default_str();
    app->add_option("--null-cells", v.null_cells, "cells of the null simulation control (at most the data's)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--geometry", v.geometry,
                    "how the geometry is fitted: let (the adaptor), or isomap / mds on the anchors without the ruler "
                    "(the second manifold's methods: a k x seed sweep and a PCA margin gate)")
        ->check(CLI::IsMember({"let", "isomap", "mds"}))
        ->capture_default_str();
    app->add_option("--neighbors", v.neighbors, "isomap / mds: the k sweep")->delimiter(',')->capture_default_str();
    app->add_option("--geometry-seeds", v.geometry_seeds, "isomap / mds: the seed sweep")->delimiter(',')->capture_default_str();
    app->add_option("--geometry-dims", v.geometry_dimensions, "isomap / mds: embedding dimensions (and PCA's)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--pca-margin", v.pca_margin, "isomap / mds: the ruler correlation must beat PCA's by more than this")
        ->capture_default_str();
    app->add_flag("--no-controls", args->no_controls, "skip the null-simulation, label-lookup and null-ruler controls");
    add_feature_options(app, args->features);
    return {app, [args, &g](const Console& console) {
                auto o = args->validate;
                if (!o.operator_file.empty()) o.features = feature_spec(args->features);
                o.controls = !args->no_controls;
                o.seed = g.seed;
                o.threads = console.threads();
                o.progress_bar = [&console](const std::string& label) { return console.progress(label); };
                const auto r = validate_file(o, console.messages());
                std::cout << r.summary_table;
                console.info(r.passed ? fmt::format("the manifold passes every gate; wrote {}", o.out)
                                      : fmt::format("the manifold fails: {}; wrote {}", fmt::join(r.failures, "; "), o.out));
            }};
}

} // namespace scx::cli
