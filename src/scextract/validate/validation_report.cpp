#include "scextract/validate/validation_report.hpp"

#include "scextract/io/json_number.hpp"

#include <cmath>
#include <functional>

#include <fmt/format.h>

namespace scx {

namespace {

nlohmann::ordered_json gates_json(const std::vector<HoldoutGate>& gates) {
    auto out = nlohmann::ordered_json::array();
    for (const auto& g : gates) {
        nlohmann::ordered_json folds = nlohmann::ordered_json::object();
        for (const auto& [name, s] : g.folds) folds[name] = json_number_or_null(s);
        out.push_back({{"name", g.name}, {"score", json_number_or_null(g.score)}, {"worst", json_number_or_null(g.worst)}, {"passed", g.passed},
                       {"folds", folds}, {"skipped", g.skipped}});
    }
    return out;
}

nlohmann::ordered_json permutation_json(const PermutationTest& p) {
    return {{"permutations", p.permutations}, {"refit", p.refit}, {"epochs", p.epochs},          {"observed", json_number_or_null(p.observed)},
            {"null_mean", json_number_or_null(p.null_mean)}, {"null_sd", json_number_or_null(p.null_sd)}, {"null_max", json_number_or_null(p.null_max)},
            {"p_greater", p.p_greater},         {"p_two_sided", p.p_two_sided},
            {"p_floor_greater", p.p_floor_greater}, {"p_floor_two_sided", p.p_floor_two_sided},
            {"alpha", p.alpha},                 {"passed", p.passed}};
}

/// Metrics down, runs across: @p Run has column and an optional result.
template <class Run, class Result>
struct Table {
    const std::vector<Run>& runs;
    std::string out;
    explicit Table(const std::vector<Run>& r) : runs(r) {
        out = fmt::format("{:<34}", "metric");
        for (const auto& run : runs) out += fmt::format(" {:>16}", run.column);
        out += "\n";
    }
    void row(const std::string& metric, const std::function<double(const Result&)>& get, const char* format = "{:.3f}") {
        out += fmt::format("{:<34}", metric);
        for (const auto& run : runs) {
            std::string c = "-";
            if (run.result) {
                const double v = get(*run.result);
                c = std::isfinite(v) ? fmt::format(fmt::runtime(format), v) : "n/a";
            }
            out += fmt::format(" {:>16}", c);
        }
        out += "\n";
    }
    void gates_and_permutation() {
        for (std::size_t g = 0; g < 3; ++g) {
            static const char* names[] = {"gate: random 20%", "gate: leave donor out", "gate: leave branch out"};
            row(names[g], [g](const Result& r) { return g < r.gates.size() ? r.gates[g].score : NAN; });
        }
        row("permutation p (one-sided)", [](const Result& r) { return r.permutation.p_greater; }, "{:.4g}");
        row("permutation p floor 1/(n+1)", [](const Result& r) { return r.permutation.p_floor_greater; }, "{:.4g}");
        row("permutation null mean", [](const Result& r) { return r.permutation.null_mean; });
    }
    std::string finish() {
        out += fmt::format("{:<34}", "verdict");
        for (const auto& run : runs) out += fmt::format(" {:>16}", run.result ? (run.result->passed ? "PASS" : "FAIL") : "-");
        out += "\n";
        return out;
    }
};

} // namespace

nlohmann::ordered_json validation_result_json(const ManifoldValidationResult& r) {
    nlohmann::ordered_json j;
    j["passed"] = r.passed;
    j["failures"] = r.failures;
    j["cells"] = r.cells;
    j["anchors"] = r.anchors;
    j["features"] = r.features;
    j["k"] = r.k;
    j["frozen"] = r.frozen;
    j["ruler_correlation"] = json_number_or_null(r.ruler_correlation);
    j["trustworthiness"] = json_number_or_null(r.trustworthiness);
    j["trustworthiness_anchors"] = json_number_or_null(r.trustworthiness_anchors);
    j["subsample_cells"] = r.subsample_cells;
    j["geodesic_correlation"] = json_number_or_null(r.geodesic_correlation);
    j["geodesic_pairs"] = r.geodesic_pairs;
    j["gates"] = gates_json(r.gates);
    j["permutation"] = permutation_json(r.permutation);
    auto& sweep = j["dimension_sweep"] = nlohmann::ordered_json::array();
    for (const auto& s : r.sweep)
        sweep.push_back({{"k", s.k},
                         {"ruler_correlation", json_number_or_null(s.ruler_correlation)},
                         {"trustworthiness", json_number_or_null(s.trustworthiness)},
                         {"geodesic_correlation", json_number_or_null(s.geodesic_correlation)},
                         {"random_holdout", json_number_or_null(s.random_holdout)}});
    return j;
}

std::string validation_summary_table(const std::vector<ValidationRun>& runs) {
    Table<ValidationRun, ManifoldValidationResult> t(runs);
    t.row("ruler correlation (anchors)", [](const auto& r) { return r.ruler_correlation; });
    t.row("trustworthiness (cells)", [](const auto& r) { return r.trustworthiness; });
    t.row("trustworthiness (anchors)", [](const auto& r) { return r.trustworthiness_anchors; });
    t.row("geodesic-ruler correlation", [](const auto& r) { return r.geodesic_correlation; });
    t.gates_and_permutation();
    const auto* first = runs.front().result ? &*runs.front().result : nullptr;
    if (first)
        for (std::size_t i = 0; i < first->sweep.size(); ++i) {
            const auto k = first->sweep[i].k;
            t.row(fmt::format("k={}: ruler correlation", k), [i](const auto& r) { return i < r.sweep.size() ? r.sweep[i].ruler_correlation : NAN; });
            t.row(fmt::format("k={}: trustworthiness", k), [i](const auto& r) { return i < r.sweep.size() ? r.sweep[i].trustworthiness : NAN; });
            t.row(fmt::format("k={}: random gate", k), [i](const auto& r) { return i < r.sweep.size() ? r.sweep[i].random_holdout : NAN; });
        }
    return t.finish();
}

nlohmann::ordered_json geometry_result_json(const GeometryValidationResult& r) {
    nlohmann::ordered_json j;
    j["passed"] = r.passed;
    j["failures"] = r.failures;
    j["method"] = r.method;
    j["cells"] = r.cells;
    j["anchors"] = r.anchors;
    j["features"] = r.features;
    j["dimensions"] = r.dimensions;
    j["trust_k"] = r.trust_k;
    const auto row = [](const GeometrySweepRow& s) {
        return nlohmann::ordered_json{{"k", s.k},
                                      {"seed", s.seed},
                                      {"ruler_correlation", json_number_or_null(s.ruler_correlation)},
                                      {"trustworthiness", json_number_or_null(s.trustworthiness)},
                                      {"stress", json_number_or_null(s.stress)}};
    };
    j["chosen"] = row(r.chosen);
    j["ruler_correlation"] = json_number_or_null(r.chosen.ruler_correlation);
    j["trustworthiness"] = json_number_or_null(r.chosen.trustworthiness);
    j["geodesic_correlation"] = json_number_or_null(r.geodesic_correlation);
    j["pca_correlation"] = json_number_or_null(r.pca_correlation);
    j["pca_margin"] = json_number_or_null(r.pca_margin);
    j["gates"] = gates_json(r.gates);
    j["permutation"] = permutation_json(r.permutation);
    auto& sweep = j["sweep"] = nlohmann::ordered_json::array();
    for (const auto& s : r.sweep) sweep.push_back(row(s));
    return j;
}

std::string geometry_summary_table(const std::vector<GeometryRun>& runs) {
    Table<GeometryRun, GeometryValidationResult> t(runs);
    t.row("chosen k", [](const auto& r) { return static_cast<double>(r.chosen.k); }, "{:.0f}");
    t.row("chosen seed", [](const auto& r) { return static_cast<double>(r.chosen.seed); }, "{:.0f}");
    t.row("ruler correlation (anchors)", [](const auto& r) { return r.chosen.ruler_correlation; });
    t.row("trustworthiness (anchors)", [](const auto& r) { return r.chosen.trustworthiness; });
    t.row("geodesic-ruler correlation", [](const auto& r) { return r.geodesic_correlation; });
    t.row("PCA ruler correlation", [](const auto& r) { return r.pca_correlation; });
    t.row("margin over PCA", [](const auto& r) { return r.pca_margin; }, "{:+.3f}");
    t.gates_and_permutation();
    return t.finish();
}

} // namespace scx
