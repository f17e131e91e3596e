/// @file validate.cpp
/// @brief validate_file(): the data and its three controls through validate_manifold(),
/// and the results file.

#include "scextract/validate.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/algorithm_file.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/output_paths.hpp"
#include "scextract/io/operator_file.hpp"
#include "scextract/io/label_map.hpp"
#include "scextract/io/ruler_json.hpp"
#include "scextract/readout/algorithm_pipeline.hpp"
#include "scextract/validate/manifold_inputs.hpp"
#include "scextract/validate/null_ruler.hpp"
#include "scextract/validate/null_simulation_control.hpp"

#include <chrono>
#include <optional>

#include <fmt/ranges.h>

#include <fmt/format.h>

namespace scx {

namespace {

/// Dimension of the label-lookup control's random code per cell type.
constexpr std::int64_t kLabelCodeDimension = 32;

} // namespace

ValidateFileResult validate_file(const ValidateFileOptions& a, const MessageSink& messages) {
    if (a.operator_file.empty() && a.algorithm.empty()) throw UsageError("validate: give --operator or --algorithm");
    if (!a.operator_file.empty() && !a.algorithm.empty()) throw UsageError("validate: give --operator or --algorithm, not both");
    if (a.held_out && a.algorithm.empty()) throw UsageError("validate: --held-out needs --algorithm");
    refuse_overwriting_inputs(a.out, {a.data.path, a.algorithm, a.operator_file, a.label_map, a.ruler == "default" ? "" : a.ruler});
    const auto t0 = std::chrono::steady_clock::now();
    const Ruler ruler = load_ruler_with_label_map(a.ruler, a.label_map);
    std::optional<Algorithm> algorithm;
    FeatureOperator features;
    double target_sum = 1e4;
    if (!a.algorithm.empty()) {
        algorithm = read_algorithm_file(a.algorithm);
        features = algorithm->features;
        target_sum = algorithm->target_sum;
    } else {
        features = build_feature_operator(read_operator_file(a.operator_file), a.features);
    }
    messages.note(fmt::format("features: {} ({} genes -> {} features)", features.description, features.n_genes(),
                              features.n_features()));
    auto reference = a.data;
    reference.threads = a.threads;
    // the anchors and the random and leave-donor gates need replicate groups: without donors,
    // seeded cell folds stand in (warned, and recorded in the results)
    if (reference.cell_folds == 0) reference.cell_folds = -1;
    const auto input = read_reference_cells(reference, messages);
    std::int64_t unmapped = 0;
    const auto data = manifold_data(features, target_sum, input->data, ruler, a.threads, &unmapped);
    if (unmapped > 0) messages.warning(fmt::format("{} cells have labels off ruler '{}' and are left out", unmapped, ruler.name));

    ManifoldValidationOptions o;
    o.adaptor.k = a.k;
    o.adaptor.loss.weights.reconstruction = a.alpha;
    if (a.epochs > 0) o.adaptor.epochs = a.epochs;
    o.permutation_epochs = a.permutation_epochs;
    o.permutations = a.permutations;
    o.max_cells = a.max_cells;
    o.dimensions = a.dimensions;
    o.seed = a.seed;
    o.threads = a.threads;
    if (o.permutations < min_permutations(o.alpha))
        messages.warning(fmt::format("{} permutations floor p at 1/{} = {:.3g}, above alpha = {:g}: the permutation "
                                     "gate cannot pass (it needs >= {}; METHOD.md asks 2,000)",
                                     o.permutations, o.permutations + 1, 1.0 / static_cast<double>(o.permutations + 1), o.alpha,
                                     min_permutations(o.alpha)));
    std::optional<FrozenEncoder> frozen;
    if (a.held_out) {
        frozen = FrozenEncoder{Standardizer{algorithm->feature_mean, algorithm->feature_sd}, algorithm_adaptor(*algorithm)};
    }
    std::optional<GeodesicMethod> geometry;
    if (a.geometry == "isomap") geometry = GeodesicMethod::isomap;
    else if (a.geometry == "mds") geometry = GeodesicMethod::geodesic_mds;
    else if (a.geometry != "let") throw UsageError(fmt::format("validate: --geometry '{}' is not let, isomap or mds", a.geometry));
    if (geometry && a.held_out) throw UsageError("validate: --held-out has no frozen encoder to use with --geometry isomap or mds");
    GeometryValidationOptions go;
    if (geometry) {
        go.method = *geometry;
        go.neighbors = a.neighbors;
        go.seeds = a.geometry_seeds;
        go.dimensions = a.geometry_dimensions;
        go.pca_margin = a.pca_margin;
        go.permutations = a.permutations;
        go.seed = a.seed;
        go.threads = a.threads;
    }
    const auto run = [&](const std::string& what, const ManifoldData& d, const Ruler& on, const FrozenEncoder* f) {
        messages.note(fmt::format("{}: {} cells, {} features, {} permutations ({})", what, d.n_cells(), d.features.cols(),
                                  o.permutations, f ? "frozen adaptor" : "refitted each time"));
        auto bar = a.progress_bar ? a.progress_bar(what) : nullptr;
        auto oo = o;
        if (bar) oo.progress = bar->callback();
        auto r = validate_manifold(d, on, oo, f);
        if (bar) bar->finish();
        return r;
    };
    const auto run_geometry = [&](const std::string& what, const ManifoldData& d, const Ruler& on) {
        messages.note(fmt::format("{}: {} cells, {} features, {} sweep over k = {} and seeds = {}, {} permutations", what, d.n_cells(),
                                  d.features.cols(), a.geometry, fmt::join(go.neighbors, ","), fmt::join(go.seeds, ","), go.permutations));
        auto bar = a.progress_bar ? a.progress_bar(what) : nullptr;
        auto oo = go;
        if (bar) oo.progress = bar->callback();
        auto r = validate_geometry(d, on, oo);
        if (bar) bar->finish();
        return r;
    };
    ValidateFileResult result;
    // one list of (column, key, data, ruler) runs, fitted by the LET adaptor or by the geometry
    const auto add_run = [&](const std::string& column, const std::string& key, const std::string& what, const ManifoldData* d,
                             const Ruler* on, const FrozenEncoder* f) {
        if (geometry) {
            result.geometry_runs.push_back({column, key, d ? std::optional(run_geometry(what, *d, *on)) : std::nullopt});
        } else {
            result.runs.push_back({column, key, d ? std::optional(run(what, *d, *on, f)) : std::nullopt});
        }
    };
    add_run("data", "data", "data", &data, &ruler, frozen ? &*frozen : nullptr);
    nlohmann::ordered_json controls = nlohmann::ordered_json::object();
    if (a.controls) {
        try {
            const auto null_bed = null_simulation_control(features, target_sum, data, input->data.symbols, ruler,
                                                          {.max_cells = a.null_cells, .seed = a.seed, .threads = a.threads});
            controls["null_simulation"] = null_bed.description;
            add_run("null sim", "null_simulation", "null simulation", &null_bed.data, &ruler, frozen ? &*frozen : nullptr);
        } catch (const Error& e) {
            messages.warning(fmt::format("null-simulation control skipped: {}", e.what()));
            controls["null_simulation"] = fmt::format("skipped: {}", e.what());
            add_run("null sim", "null_simulation", "", nullptr, nullptr, nullptr);
        }
        controls["label_lookup"] = fmt::format("features replaced by a fixed random code per cell type "
                                               "({} standard normals, seeded); adaptor refitted",
                                               kLabelCodeDimension);
        const auto lookup = label_lookup_control(data, kLabelCodeDimension, a.seed);
        add_run("label lookup", "label_lookup", "label lookup", &lookup, &ruler, nullptr);
        // the data's features and labels (their stage codes hold on both rulers), fitted like the data
        const auto shuffled = null_ruler(ruler, {.seed = a.seed});
        if (shuffled.moved == 0) {
            controls["null_ruler"] = fmt::format("skipped: no branch of ruler '{}' has two stages", ruler.name);
            add_run("null ruler", "null_ruler", "", nullptr, nullptr, nullptr);
        } else {
            controls["null_ruler"] = fmt::format(
                "ruler '{}' with its stages shuffled within each branch over the branch's nodes (seed {}): {} of {} "
                "stages moved, distance Spearman with the real {:.3f}, branches of one stage unchanged: {}; "
                "the data's features and labels",
                ruler.name, a.seed, shuffled.moved, ruler.stages.size(), shuffled.distance_spearman,
                shuffled.fixed_branches.empty() ? std::string("none") : fmt::format("{}", fmt::join(shuffled.fixed_branches, ", ")));
            add_run("null ruler", "null_ruler", "null ruler", &data, &shuffled.ruler, frozen ? &*frozen : nullptr);
        }
    }

    auto& j = result.json;
    j["format"] = "scextract-validation";
    j["version"] = 1;
    j["input"] = {{"data", a.data.path},
                  {"features", features.description},
                  {"source", a.algorithm.empty() ? a.operator_file : a.algorithm},
                  {"held_out", a.held_out},
                  {"ruler", ruler.name},
                  {"unmapped_cells", unmapped},
                  {"label_map", a.label_map},
                  {"donors", input->donor_note.empty() ? "donors" : input->donor_note}};
    j["geometry"] = a.geometry;
    if (geometry)
        j["geometry_options"] = {{"method", a.geometry},
                                 {"neighbors", go.neighbors},
                                 {"seeds", go.seeds},
                                 {"dimensions", go.dimensions},
                                 {"trust_k", go.trust_k},
                                 {"min_anchor_cells", go.min_anchor_cells},
                                 {"pca_margin_gate", fmt::format("ruler correlation - PCA-{} correlation > {}", go.dimensions, go.pca_margin)},
                                 {"selection", "the (k, seed) with the highest ruler correlation; the permutation test reruns the sweep"}};
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
                    {"leave_branch_pairs", o.branch_distinct_stages ? "held-out anchors of different stages" : "all held-out anchors"},
                    {"permutations", o.permutations},
                    {"permutation_epochs", o.permutation_epochs},
                    {"dimensions", o.dimensions},
                    {"seed", o.seed}};
    const double p_floor = 1.0 / static_cast<double>(o.permutations + 1);
    j["gates"] = {{"trustworthiness", {{"rule", "trustworthiness >= threshold"}, {"threshold", o.trust_gate}}},
                  {"holdout",
                   {{"rule", "mean fold score >= threshold, for each of random, leave_donor, leave_branch"},
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
    for (const auto& r : result.runs) results[r.key] = r.result ? validation_result_json(*r.result) : nlohmann::ordered_json(nullptr);
    for (const auto& r : result.geometry_runs) results[r.key] = r.result ? geometry_result_json(*r.result) : nlohmann::ordered_json(nullptr);
    j["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    write_text_atomically(a.out, j.dump(2) + "\n");
    const auto warn_passing_controls = [&](const auto& runs) {
        for (const auto& r : runs)
            if (r.key != "data" && r.result && r.result->passed)
                messages.warning(fmt::format("the {} control passes the gates too: the gates do not separate the data from it here", r.column));
    };
    if (geometry) {
        result.summary_table = geometry_summary_table(result.geometry_runs);
        result.passed = result.geometry_runs.front().result->passed;
        result.failures = result.geometry_runs.front().result->failures;
        warn_passing_controls(result.geometry_runs);
    } else {
        result.summary_table = validation_summary_table(result.runs);
        result.passed = result.runs.front().result->passed;
        result.failures = result.runs.front().result->failures;
        warn_passing_controls(result.runs);
    }
    return result;
}

} // namespace scx
