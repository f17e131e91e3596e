/// @file fit_command.cpp
/// @brief `scextract fit`: features, adaptor and readouts on reference cells -> one algorithm file.

#include "scextract/cli/command.hpp"
#include "scextract/cli/feature_options.hpp"
#include "scextract/cli/training_data.hpp"
#include "scextract/core/error.hpp"
#include "scextract/io/algorithm_file.hpp"
#include "scextract/io/dataset.hpp"
#include "scextract/io/operator_file.hpp"
#include "scextract/io/ruler_json.hpp"
#include "scextract/preprocess/count_check.hpp"
#include "scextract/readout/algorithm_pipeline.hpp"

#include <nlohmann/json.hpp>

#include <chrono>

#include <fmt/format.h>

namespace scx::cli {

Command add_fit_command(CLI::App& root, GlobalOptions& g) {
    struct Args {
        std::string op, ruler = "default", out, variant = "cell";
        TrainingArgs training;
        std::int64_t k = 10, epochs = -1;
        double alpha = -1; // < 0: the variant's reconstruction weight
        FeatureArgs features;
    };
    auto args = std::make_shared<Args>();
    auto* app = root.add_subcommand("fit", "fit an extracted algorithm (features, adaptor, readouts) on reference cells");
    app->add_option("--operator", args->op, "operators from `scextract export` (.scxop)")->required();
    add_training_options(app, args->training);
    app->add_option("--ruler", args->ruler, "ruler JSON, or 'default'")->capture_default_str();
    app->add_option("--out", args->out, "algorithm file to write (.scx)")->required();
    app->add_option("--variant", args->variant,
                    "adaptor: anchor, cell or hybrid (cell: chosen on training donors, docs/adaptor.md#the-ladder)")
        ->check(CLI::IsMember({"anchor", "cell", "hybrid"}))
        ->capture_default_str();
    app->add_option("--k", args->k, "latent dimension")->check(CLI::PositiveNumber)->capture_default_str();
    app->add_option("--alpha", args->alpha, "reconstruction weight (default: the variant's; anchor 0.1, cell and hybrid 0.08)")
        ->check(CLI::NonNegativeNumber);
    app->add_option("--epochs", args->epochs, "adaptor epochs (default: the variant's)");
    add_feature_options(app, args->features);
    return {app, [args, &g](const Console& console) {
                const auto& a = *args;
                const auto t0 = std::chrono::steady_clock::now();
                const auto spec = feature_spec(a.features);
                const Ruler ruler = a.ruler == "default" ? default_hematopoiesis_ruler() : read_ruler_json(a.ruler);
                const std::string ruler_json = ruler_to_json(ruler).dump();
                const auto ops = read_operator_file(a.op);
                const auto features = build_feature_operator(ops, spec);
                console.info(fmt::format("features: {} ({} genes -> {} features, {:.2f} MB)", features.description,
                                         features.n_genes(), features.n_features(), features.size_mb()));
                const auto input = read_training_input(a.training, console);
                const auto& d = input->dataset;
                const auto& data = input->data;
                AlgorithmFitOptions o;
                o.adaptor = adaptor_options(parse_adaptor_variant(a.variant));
                o.adaptor.k = a.k;
                if (a.alpha >= 0) o.adaptor.loss.weights.reconstruction = a.alpha;
                if (a.epochs > 0) o.adaptor.epochs = a.epochs;
                o.adaptor.seed = g.seed;
                o.threads = console.threads();
                auto r = fit_algorithm(features, ruler, ruler_json, data, o);
                if (!r.missing_panel_genes.empty())
                    console.warn(fmt::format("{} of {} panel genes are absent from {} (zero-filled)",
                                             r.missing_panel_genes.size(), features.n_genes(), a.training.train));
                if (!r.unmapped_labels.empty())
                    console.warn(fmt::format("{} labels map to no stage of ruler '{}' and were left out: {}",
                                             r.unmapped_labels.size(), ruler.name, fmt::join(r.unmapped_labels, "; ")));
                console.info(fmt::format("{} of {} cells on the ruler; adaptor ({}) on {} rows, k={}, {} parameters, "
                                         "loss {:.4g}",
                                         r.n_on_ruler, r.n_cells, a.variant, r.adaptor_rows, a.k, r.adaptor_parameters,
                                         r.adaptor_loss));
                for (const auto& s : r.readouts)
                    console.info(fmt::format("  readout {:<10} {:>5} parameters, {} training cells, {} {:.3f}", s.task,
                                             s.parameters, s.training_rows, s.task == "depth" ? "R^2" : "accuracy",
                                             s.training_score));
                for (const auto& s : r.skipped_tasks) console.info("  skipped " + s);
                nlohmann::ordered_json prov;
                prov["software"] = std::string("scextract ") + SCX_VERSION;
                prov["operator_file"] = a.op;
                prov["operator"] = operator_provenance_json(ops.provenance);
                prov["features"] = features.description;
                prov["train"] = a.training.train;
                prov["matrix"] = d.matrix_source;
                prov["label_key"] = a.training.label_key;
                prov["donor_key"] = a.training.donor_key;
                prov["tissue_key"] = a.training.tissue_key;
                prov["variant"] = a.variant;
                prov["k"] = a.k;
                prov["alpha"] = o.adaptor.loss.weights.reconstruction;
                prov["seed"] = g.seed;
                prov["cells_on_ruler"] = r.n_on_ruler;
                prov["adaptor_rows"] = r.adaptor_rows;
                for (const auto& s : r.readouts) prov["readout_parameters"][s.task] = s.parameters;
                r.algorithm.provenance_json = prov.dump();
                write_algorithm_file(r.algorithm, a.out);
                const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                console.info(fmt::format("wrote {} ({:.2f} MB of operator, {:.1f} s)", a.out, features.size_mb(), seconds));
            }};
}

} // namespace scx::cli
