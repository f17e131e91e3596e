#include "scextract/validate/validation_report.hpp"

#include "scextract/io/json_number.hpp"

#include <cmath>
#include <functional>

#include <fmt/format.h>

namespace scx {

namespace {

std::string cell(const std::optional<ManifoldValidationResult>& r, const std::function<double(const ManifoldValidationResult&)>& get,
                 const char* format = "{:.3f}") {
    if (!r) return "-";
    const double v = get(*r);
    return std::isfinite(v) ? fmt::format(fmt::runtime(format), v) : "n/a";
}

/// One line per metric, one column per run (data, null simulation, label lookup, null ruler).
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
    auto& gates = j["gates"] = nlohmann::ordered_json::array();
    for (const auto& g : r.gates) {
        nlohmann::ordered_json folds = nlohmann::ordered_json::object();
        for (const auto& [name, s] : g.folds) folds[name] = json_number_or_null(s);
        gates.push_back({{"name", g.name}, {"score", json_number_or_null(g.score)}, {"worst", json_number_or_null(g.worst)}, {"passed", g.passed},
                         {"folds", folds}, {"skipped", g.skipped}});
    }
    const auto& p = r.permutation;
    j["permutation"] = {{"permutations", p.permutations}, {"refit", p.refit}, {"epochs", p.epochs},          {"observed", json_number_or_null(p.observed)},
                        {"null_mean", json_number_or_null(p.null_mean)}, {"null_sd", json_number_or_null(p.null_sd)}, {"null_max", json_number_or_null(p.null_max)},
                        {"p_greater", p.p_greater},         {"p_two_sided", p.p_two_sided},
                        {"p_floor_greater", p.p_floor_greater}, {"p_floor_two_sided", p.p_floor_two_sided},
                        {"alpha", p.alpha},                 {"passed", p.passed}};
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

} // namespace scx
