/// @file fit_command.cpp
/// @brief `scextract fit`: parse, then the library's fit_file() (include/scextract/fit.hpp).

#include "scextract/cli/command.hpp"
#include "scextract/cli/feature_options.hpp"
#include "scextract/cli/training_data.hpp"
#include "scextract/fit.hpp"

#include <fmt/format.h>

namespace scx::cli {

Command add_fit_command(CLI::App& root, GlobalOptions& g) {
    struct Args {
        FitFileOptions fit;
        FeatureArgs features;
    };
    auto args = std::make_shared<Args>();
    auto& f = args->fit;
    auto* app = root.add_subcommand("fit", "fit an extracted algorithm (features, adaptor, readouts) on reference cells");
    app->add_option("--operator", f.operator_file, "operators from `scextract export` (.scxop)")->required();
    add_training_options(app, f.reference);
    app->add_option("--ruler", f.ruler, "ruler JSON, or 'default'")->capture_default_str();
    app->add_option("--label-map", f.label_map, "TSV of label<TAB>stage added to the ruler's labels, ahead of its synonyms");
    app->add_option("--out", f.out, "algorithm file to write (.scx)")->required();
    app->add_option("--variant", f.variant,
                    "adaptor: anchor, cell or hybrid (cell: chosen on training donors, docs/adaptor.md#the-ladder)")
        ->check(CLI::IsMember({"anchor", "cell", "hybrid"}))
        ->capture_default_str();
    app->add_option("--k", f.k, "latent dimension")->check(CLI::PositiveNumber)->capture_default_str();
    app->add_option("--alpha", f.alpha, "reconstruction weight (default: the variant's; anchor 0.1, cell and hybrid 0.08)")
        ->check(CLI::NonNegativeNumber);
    app->add_option("--epochs", f.epochs, "adaptor epochs (default: the variant's)");
    add_feature_options(app, args->features);
    return {app, [args, &g](const Console& console) {
                auto o = args->fit;
                o.features = feature_spec(args->features);
                o.seed = g.seed;
                o.threads = console.threads();
                const auto r = fit_file(o, console.messages());
                const auto& fit = r.fit;
                console.info(fmt::format("{} of {} cells on the ruler; adaptor ({}) on {} rows, k={}, {} parameters, "
                                         "loss {:.4g}",
                                         fit.n_on_ruler, fit.n_cells, o.variant, fit.adaptor_rows, o.k, fit.adaptor_parameters,
                                         fit.adaptor_loss));
                for (const auto& s : fit.readouts)
                    console.info(fmt::format("  readout {:<10} {:>5} parameters, {} training cells, {} {:.3f}", s.task,
                                             s.parameters, s.training_rows, s.task == "depth" ? "R^2" : "accuracy",
                                             s.training_score));
                for (const auto& s : fit.skipped_tasks) console.info("  skipped " + s);
                const auto& ood = fit.algorithm.ood;
                console.info(fmt::format("  out of distribution in apply: reconstruction error > {:.4g} (training p99, mean "
                                         "{:.4g}) or detected panel-gene fraction < {:.4g} (training p1), over {} cells",
                                         ood.reconstruction_error_p99, ood.reconstruction_error_mean,
                                         ood.detected_fraction_p1, ood.training_cells));
                console.info(fmt::format("wrote {} ({:.2f} MB of operator, {:.1f} s)", o.out, r.operator_mb, r.seconds));
            }};
}

} // namespace scx::cli
