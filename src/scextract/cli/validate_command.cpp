/// @file validate_command.cpp
/// @brief `scextract validate`: trustworthiness, geodesic-ruler correlation, holdout gates,
/// the blocked permutation test and the dimension sweep of a manifold, each beside three
/// controls (a matched null simulation, label lookup and a null ruler).

#include "scextract/cli/command.hpp"
#include "scextract/cli/feature_options.hpp"
#include "scextract/cli/training_data.hpp"
#include "scextract/core/error.hpp"
#include "scextract/validate/manifold_inputs.hpp"
#include "scextract/validate/manifold_validation.hpp"
#include "scextract/validate/null_ruler.hpp"
#include "scextract/io/algorithm_file.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/operator_file.hpp"
#include "scextract/io/ruler_json.hpp"
#include "scextract/simulate/simulator.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <optional>
#include <set>

#include <fmt/format.h>

namespace scx::cli {

namespace {

/// Dimension of the label-lookup control's random code per cell type.
constexpr std::int64_t kLabelCodeDimension = 32;

nlohmann::ordered_json number(double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr); }

nlohmann::ordered_json result_json(const ManifoldValidationResult& r) {
    nlohmann::ordered_json j;
    j["passed"] = r.passed;
    j["failures"] = r.failures;
    j["cells"] = r.cells;
    j["anchors"] = r.anchors;
    j["features"] = r.features;
    j["k"] = r.k;
    j["frozen"] = r.frozen;
    j["ruler_correlation"] = number(r.ruler_correlation);
    j["trustworthiness"] = number(r.trustworthiness);
    j["trustworthiness_anchors"] = number(r.trustworthiness_anchors);
    j["subsample_cells"] = r.subsample_cells;
    j["geodesic_correlation"] = number(r.geodesic_correlation);
    j["geodesic_pairs"] = r.geodesic_pairs;
    auto& gates = j["gates"] = nlohmann::ordered_json::array();
    for (const auto& g : r.gates) {
        nlohmann::ordered_json folds = nlohmann::ordered_json::object();
        for (const auto& [name, s] : g.folds) folds[name] = number(s);
        gates.push_back({{"name", g.name}, {"score", number(g.score)}, {"worst", number(g.worst)}, {"passed", g.passed},
                         {"folds", folds}, {"skipped", g.skipped}});
    }
    const auto& p = r.permutation;
    j["permutation"] = {{"permutations", p.permutations}, {"refit", p.refit}, {"epochs", p.epochs},          {"observed", number(p.observed)},
                        {"null_mean", number(p.null_mean)}, {"null_sd", number(p.null_sd)}, {"null_max", number(p.null_max)},
                        {"p_greater", p.p_greater},         {"p_two_sided", p.p_two_sided},
                        {"p_floor_greater", p.p_floor_greater}, {"p_floor_two_sided", p.p_floor_two_sided},
                        {"alpha", p.alpha},                 {"passed", p.passed}};
    auto& sweep = j["dimension_sweep"] = nlohmann::ordered_json::array();
    for (const auto& s : r.sweep)
        sweep.push_back({{"k", s.k},
                         {"ruler_correlation", number(s.ruler_correlation)},
                         {"trustworthiness", number(s.trustworthiness)},
                         {"geodesic_correlation", number(s.geodesic_correlation)},
                         {"random_holdout", number(s.random_holdout)}});
    return j;
}

/// One column of the summary: the table's heading, the key under "results", the result (none when skipped).
struct Run {
    std::string column, key;
    std::optional<ManifoldValidationResult> result;
};

std::string cell(const std::optional<ManifoldValidationResult>& r, const std::function<double(const ManifoldValidationResult&)>& get,
                 const char* format = "{:.3f}") {
    if (!r) return "-";
    const double v = get(*r);
    return std::isfinite(v) ? fmt::format(fmt::runtime(format), v) : "n/a";
}

/// One line per metric, one column per run (data, null simulation, label lookup, null ruler).
std::string summary_table(const std::vector<Run>& runs) {
    std::string out = fmt::format("{:<34}", "metric");
    for (const auto& run : runs) out += fmt::format(" {:>16}", run.column);
    out += "\n";
    const auto row = [&](const std::string& metric, const std::function<double(const ManifoldValidationResult&)>& get,
                         const char* format = "{:.3f}") {
        out += fmt::format("{:<34}", metric);
        for (const auto& run : runs) out += fmt::format(" {:>16}", cell(run.result, get, format));
        out += "\n";
    };
    row("ruler correlation (anchors)", [](const auto& r) { return r.ruler_correlation; });
    row("trustworthiness (cells)", [](const auto& r) { return r.trustworthiness; });
    row("trustworthiness (anchors)", [](const auto& r) { return r.trustworthiness_anchors; });
    row("geodesic-ruler correlation", [](const auto& r) { return r.geodesic_correlation; });
    for (std::size_t g = 0; g < 3; ++g) {
        static const char* names[] = {"gate: random 20%", "gate: leave donor out", "gate: leave branch out"};
        row(names[g], [g](const auto& r) { return g < r.gates.size() ? r.gates[g].score : NAN; });
    }
    row("permutation p (one-sided)", [](const auto& r) { return r.permutation.p_greater; }, "{:.4g}");
    row("permutation p floor 1/(n+1)", [](const auto& r) { return r.permutation.p_floor_greater; }, "{:.4g}");
    row("permutation null mean", [](const auto& r) { return r.permutation.null_mean; });
    const auto* first = runs.front().result ? &*runs.front().result : nullptr;
    if (first)
        for (std::size_t i = 0; i < first->sweep.size(); ++i) {
            const auto k = first->sweep[i].k;
            row(fmt::format("k={}: ruler correlation", k), [i](const auto& r) { return i < r.sweep.size() ? r.sweep[i].ruler_correlation : NAN; });
            row(fmt::format("k={}: trustworthiness", k), [i](const auto& r) { return i < r.sweep.size() ? r.sweep[i].trustworthiness : NAN; });
            row(fmt::format("k={}: random gate", k), [i](const auto& r) { return i < r.sweep.size() ? r.sweep[i].random_holdout : NAN; });
        }
    out += fmt::format("{:<34}", "verdict");
    for (const auto& run : runs) out += fmt::format(" {:>16}", run.result ? (run.result->passed ? "PASS" : "FAIL") : "-");
    out += "\n";
    return out;
}

} // namespace

Command add_validate_command(CLI::App& root, GlobalOptions& g) {
    struct Args {
        std::string op, algorithm, ruler = "default", out;
        TrainingArgs data;
        FeatureArgs features;
        bool held_out = false, no_controls = false;
        std::int64_t k = 10, epochs = -1, permutation_epochs = 100, permutations = 2000, max_cells = 2000, null_cells = 5000;
        double alpha = 0.1;
        std::vector<std::int64_t> dims = {3, 6, 10};
    };
    auto args = std::make_shared<Args>();
    auto* app = root.add_subcommand(
        "validate", "validate a manifold: trustworthiness, geodesic-ruler correlation, holdout gates, blocked permutation "
                    "test (p <= 0.001) and dimension sweep, beside a null simulation, a label-lookup and a null-ruler control");
    auto* op = app->add_option("--operator", args->op, "operators from `scextract export` (.scxop); the adaptor is fitted on --data");
    auto* algo = app->add_option("--algorithm", args->algorithm, "an algorithm from `scextract fit` (.scx): its features and fit settings")
                     ->excludes(op);
    op->excludes(algo);
    app->add_flag("--held-out", args->held_out,
                  "--data was not used to fit --algorithm: use its adaptor frozen (the permutation test does not refit)")
        ->needs(algo);
    add_training_options(app, args->data, "--data");
    app->add_option("--ruler", args->ruler, "ruler JSON, or 'default'")->capture_default_str();
    app->add_option("--out", args->out, "results to write (.json)")->required();
    app->add_option("--k", args->k, "latent dimension")->check(CLI::PositiveNumber)->capture_default_str();
    app->add_option("--alpha", args->alpha, "reconstruction weight of the adaptor")->check(CLI::NonNegativeNumber)->capture_default_str();
    app->add_option("--epochs", args->epochs, "Adam steps of every adaptor fit but the permutations' (default 400)");
    app->add_option("--permutation-epochs", args->permutation_epochs,
                    "Adam steps of each permutation refit; the observed statistic uses the same")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_option("--permutations", args->permutations,
                    "permutations of the blocked test (METHOD.md: >= 2,000; the gate p <= 0.001 needs >= 999; 0 skips it and fails)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app->add_option("--max-cells", args->max_cells, "cells subsampled for trustworthiness and the geodesic correlation (<= 10,000)")
        ->check(CLI::Range(31, 10000))
        ->capture_default_str();
    app->add_option("--dims", args->dims, "latent dimensions of the sweep")->delimiter(',')->capture_default_str();
    app->add_option("--null-cells", args->null_cells, "cells of the null simulation control (at most the data's)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app->add_flag("--no-controls", args->no_controls, "skip the null-simulation, label-lookup and null-ruler controls");
    add_feature_options(app, args->features);
    return {app, [args, &g](const Console& console) {
                const auto& a = *args;
                if (a.op.empty() && a.algorithm.empty()) throw UsageError("validate: give --operator or --algorithm");
                const auto t0 = std::chrono::steady_clock::now();
                const Ruler ruler = a.ruler == "default" ? default_hematopoiesis_ruler() : read_ruler_json(a.ruler);
                std::optional<Algorithm> algorithm;
                FeatureOperator features;
                double target_sum = 1e4;
                if (!a.algorithm.empty()) {
                    algorithm = read_algorithm_file(a.algorithm);
                    features = algorithm->features;
                    target_sum = algorithm->target_sum;
                } else {
                    features = build_feature_operator(read_operator_file(a.op), feature_spec(a.features));
                }
                console.info(fmt::format("features: {} ({} genes -> {} features)", features.description, features.n_genes(),
                                         features.n_features()));
                const auto input = read_training_input(a.data, console);
                std::int64_t unmapped = 0;
                const auto data = manifold_data(features, target_sum, input->data, ruler, console.threads(), &unmapped);
                if (unmapped > 0) console.warn(fmt::format("{} cells have labels off ruler '{}' and are left out", unmapped, ruler.name));

                ManifoldValidationOptions o;
                o.adaptor.k = a.k;
                o.adaptor.loss.weights.reconstruction = a.alpha;
                if (a.epochs > 0) o.adaptor.epochs = a.epochs;
                o.permutation_epochs = a.permutation_epochs;
                o.permutations = a.permutations;
                o.max_cells = a.max_cells;
                o.dimensions = a.dims;
                o.seed = g.seed;
                o.threads = console.threads();
                if (o.permutations < min_permutations(o.alpha))
                    console.warn(fmt::format("{} permutations floor p at 1/{} = {:.3g}, above alpha = {:g}: the permutation "
                                             "gate cannot pass (it needs >= {}; METHOD.md asks 2,000)",
                                             o.permutations, o.permutations + 1, 1.0 / static_cast<double>(o.permutations + 1),
                                             o.alpha, min_permutations(o.alpha)));
                std::optional<FrozenEncoder> frozen;
                if (a.held_out) {
                    Adaptor ad;
                    ad.W = algorithm->adaptor_W;
                    ad.b = algorithm->adaptor_b;
                    ad.beta = algorithm->adaptor_beta;
                    frozen = FrozenEncoder{Standardizer{algorithm->feature_mean, algorithm->feature_sd}, ad};
                }
                const auto run = [&](const std::string& what, const ManifoldData& d, const Ruler& on, const FrozenEncoder* f) {
                    console.info(fmt::format("{}: {} cells, {} features, {} permutations ({})", what, d.n_cells(),
                                             d.features.cols(), o.permutations, f ? "frozen adaptor" : "refitted each time"));
                    auto bar = console.progress(what);
                    auto oo = o;
                    oo.progress = bar->callback();
                    auto r = validate_manifold(d, on, oo, f);
                    bar->finish();
                    return r;
                };
                std::vector<Run> runs;
                runs.push_back({"data", "data", run("data", data, ruler, frozen ? &*frozen : nullptr)});
                nlohmann::ordered_json controls = nlohmann::ordered_json::object();
                if (!a.no_controls) {
                    // the null bed: simulate's null model shaped like the data, on its own gene symbols
                    try {
                        SimulationOptions so;
                        so.n_cells = std::min(a.null_cells, data.n_cells());
                        so.n_donors = std::max<std::int64_t>(2, *std::max_element(data.donor.begin(), data.donor.end()) + 1);
                        so.n_genes = std::min<std::int64_t>(4000, simulation_gene_pool_size(input->data.symbols));
                        so.seed = g.seed;
                        so.null_model = true;
                        const auto design = design_simulation(ruler, input->data.symbols, so);
                        std::vector<SimulatedCell> placed;
                        const CsrMatrix counts = simulate_counts(design, 0, so.n_cells, console.threads(), &placed);
                        AlgorithmTrainingData nd;
                        nd.counts = &counts;
                        for (const auto& gene : design.genes) nd.symbols.push_back(gene.symbol);
                        for (const auto& c : placed) {
                            nd.labels.push_back(design.stage_labels[c.stage]);
                            nd.donors.push_back(design.donors[c.donor]);
                            nd.tissues.push_back(so.tissues[c.tissue]);
                        }
                        const auto null_data = manifold_data(features, target_sum, nd, ruler, console.threads());
                        controls["null_simulation"] = fmt::format("simulate --null: {} cells, {} donors, {} genes drawn "
                                                                  "from the data's symbols, seed {}",
                                                                  so.n_cells, so.n_donors, so.n_genes, so.seed);
                        runs.push_back({"null sim", "null_simulation",
                                        run("null simulation", null_data, ruler, frozen ? &*frozen : nullptr)});
                    } catch (const Error& e) {
                        console.warn(fmt::format("null-simulation control skipped: {}", e.what()));
                        controls["null_simulation"] = fmt::format("skipped: {}", e.what());
                        runs.push_back({"null sim", "null_simulation", std::nullopt});
                    }
                    controls["label_lookup"] = fmt::format("features replaced by a fixed random code per cell type "
                                                           "({} standard normals, seeded); adaptor refitted",
                                                           kLabelCodeDimension);
                    runs.push_back({"label lookup", "label_lookup",
                                    run("label lookup", label_lookup_control(data, kLabelCodeDimension, g.seed), ruler, nullptr)});
                    // the data's features and labels (their stage codes hold on both rulers), fitted like the data
                    const auto shuffled = null_ruler(ruler, {.seed = g.seed});
                    if (shuffled.moved == 0) {
                        controls["null_ruler"] = fmt::format("skipped: no branch of ruler '{}' has two stages", ruler.name);
                        runs.push_back({"null ruler", "null_ruler", std::nullopt});
                    } else {
                        controls["null_ruler"] = fmt::format(
                            "ruler '{}' with its stages shuffled within each branch over the branch's nodes (seed {}): {} of {} "
                            "stages moved, distance Spearman with the real {:.3f}, branches of one stage unchanged: {}; "
                            "the data's features and labels",
                            ruler.name, g.seed, shuffled.moved, ruler.stages.size(), shuffled.distance_spearman,
                            shuffled.fixed_branches.empty() ? std::string("none") : fmt::format("{}", fmt::join(shuffled.fixed_branches, ", ")));
                        runs.push_back({"null ruler", "null_ruler", run("null ruler", data, shuffled.ruler, frozen ? &*frozen : nullptr)});
                    }
                }

                nlohmann::ordered_json j;
                j["format"] = "scextract-validation";
                j["version"] = 1;
                j["input"] = {{"data", a.data.path},
                              {"features", features.description},
                              {"source", a.algorithm.empty() ? a.op : a.algorithm},
                              {"held_out", a.held_out},
                              {"ruler", ruler.name},
                              {"unmapped_cells", unmapped}};
                j["options"] = {{"k", a.k},
                                {"alpha", a.alpha},
                                {"epochs", o.adaptor.epochs},
                                {"trust_k", o.trust_k},
                                {"max_cells", o.max_cells},
                                {"geodesic_k", o.geodesic_k},
                                {"trust_gate", o.trust_gate},
                                {"holdout_gate", o.holdout_gate},
                                {"permutation_alpha", o.alpha},
                                {"permutation_test", "one-sided (greater); two-sided p also given"},
                                {"random_fraction", o.random_fraction},
                                {"donor_folds", o.donor_folds},
                                {"leave_branch_pairs", o.branch_distinct_stages ? "held-out anchors of different stages"
                                                                                : "all held-out anchors"},
                                {"permutations", o.permutations},
                                {"permutation_epochs", o.permutation_epochs},
                                {"dimensions", o.dimensions},
                                {"seed", o.seed}};
                const double p_floor = 1.0 / static_cast<double>(o.permutations + 1);
                j["gates"] = {{"trustworthiness", {{"rule", "trustworthiness >= threshold"}, {"threshold", o.trust_gate}}},
                              {"holdout", {{"rule", "mean fold score >= threshold, for each of random, leave_donor, leave_branch"},
                                           {"threshold", o.holdout_gate}}},
                              {"permutation",
                               {{"rule", "one-sided p_greater <= alpha (METHOD.md: non-negotiable)"},
                                {"alpha", o.alpha},
                                {"permutations", o.permutations},
                                {"p_floor", p_floor},
                                {"min_permutations", min_permutations(o.alpha)},
                                {"floor_at_most_alpha", o.permutations >= min_permutations(o.alpha)}}}};
                j["controls"] = controls;
                auto& results = j["results"];
                for (const auto& run : runs) results[run.key] = run.result ? result_json(*run.result) : nlohmann::ordered_json(nullptr);
                j["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                {
                    write_text_atomically(a.out, j.dump(2) + "\n");
                }
                std::cout << summary_table(runs);
                const auto& main = *runs.front().result;
                console.info(main.passed ? fmt::format("the manifold passes every gate; wrote {}", a.out)
                                         : fmt::format("the manifold fails: {}; wrote {}", fmt::join(main.failures, "; "), a.out));
                for (const auto& run : runs)
                    if (run.key != "data" && run.result && run.result->passed)
                        console.warn(fmt::format("the {} control passes the gates too: the gates do not separate the data from it here",
                                                 run.column));
            }};
}

} // namespace scx::cli
