#include "scextract/bench/bench_results_json.hpp"

#include "scextract/io/json_number.hpp"
#include "scextract/io/tsv_number.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace scx {

namespace {

using json = nlohmann::ordered_json;

} // namespace

json bench_results_json(const BenchResult& r, const BenchCells& cells, const BenchProvenance& prov) {
    json j;
    j["format"] = "scextract-bench-results";
    j["version"] = 1;
    j["scextract_version"] = prov.scextract_version;
    j["command"] = prov.command;
    j["config"] = prov.config;
    j["dataset"] = {{"path", prov.data_path},
                    {"n_cells", cells.n_cells()},
                    {"n_genes", cells.counts->n_cols},
                    {"n_donors", cells.donor_names.size()},
                    {"n_tissues", cells.tissue_names.size()},
                    {"label_key", prov.label_key},
                    {"donor_key", prov.donor_key},
                    {"tissue_key", prov.tissue_key ? json(*prov.tissue_key) : json(nullptr)},
                    {"panel_genes", cells.panel.size()},
                    {"input_kind", prov.input_kind},
                    {"split_unit", prov.split_unit_note.empty() ? "donors" : "cell folds"},
                    {"split_unit_note", prov.split_unit_note}};
    json unmapped = json::array();
    for (const auto& [label, n] : prov.unmapped_labels) unmapped.push_back({{"label", label}, {"n_cells", n}});
    j["dataset"]["unmapped_labels"] = unmapped;
    json splits = json::array();
    for (const auto& s : r.splits.splits) {
        json donors = json::array();
        for (const auto d : s.test_donors) donors.push_back(cells.donor_names[d]);
        splits.push_back({{"index", s.index}, {"test_donors", donors}, {"n_train", s.train.size()}, {"n_test", s.test.size()}});
    }
    json distinct = json::array();
    for (const auto d : r.splits.distinct_test_donors) distinct.push_back(cells.donor_names[d]);
    const auto& cfg = r.splits;
    j["splits"] = {{"n", cfg.splits.size()},
                   {"test_donors_per_split", cfg.test_donors_per_split},
                   {"seed", cfg.seed},
                   {"max_train_cells", cfg.max_train_cells},
                   {"distinct_test_donors", distinct},
                   {"list", splits}};
    json methods = json::array();
    for (const auto& m : r.methods) {
        double total = m.cache_seconds;
        for (const auto s : m.split_seconds) total += s;
        methods.push_back({{"name", m.info.name},
                           {"description", m.info.description},
                           {"pseudotime_class", to_string(m.info.pseudotime)},
                           {"trainable_parameters", m.info.trainable_parameters},
                           {"cache_seconds", m.cache_seconds},
                           {"split_seconds", m.split_seconds},
                           {"total_seconds", total}});
        if (std::any_of(m.split_notes.begin(), m.split_notes.end(), [](const std::string& n) { return !n.empty(); }))
            methods.back()["split_notes"] = m.split_notes;
        if (m.operator_size)
            methods.back()["operator_size"] = {{"stored_values", m.operator_size->stored_values}, {"mb", m.operator_size->mb}};
    }
    j["methods"] = methods;
    j["reference"] = r.reference;
    json endpoints = json::array();
    for (const auto& e : r.endpoints) endpoints.push_back({{"name", e.name}, {"label", e.label}, {"higher_is_better", e.higher_is_better}});
    j["endpoints"] = endpoints;
    json scores = json::array(), donor_scores = json::array();
    for (const auto& m : r.methods) {
        for (std::size_t e = 0; e < r.endpoints.size(); ++e) {
            for (std::size_t s = 0; s < m.scores.size(); ++s)
                scores.push_back({{"method", m.info.name}, {"endpoint", r.endpoints[e].name}, {"split", s},
                                  {"value", json_number_or_null(m.scores[s].split_value[e])}});
            for (std::size_t d = 0; d < r.splits.distinct_test_donors.size(); ++d)
                donor_scores.push_back({{"method", m.info.name}, {"endpoint", r.endpoints[e].name},
                                        {"donor", cells.donor_names[r.splits.distinct_test_donors[d]]},
                                        {"value", json_number_or_null(m.donor_means[e][d])}});
        }
    }
    j["scores"] = scores;
    j["donor_scores"] = donor_scores;
    json comparisons = json::array();
    for (const auto& c : r.comparisons)
        comparisons.push_back({{"reference", c.reference}, {"method", c.method}, {"endpoint", c.endpoint}, {"unit", c.unit},
                               {"n", c.n}, {"mean_reference", json_number_or_null(c.mean_reference)},
                               {"mean_method", json_number_or_null(c.mean_method)},
                               {"median_difference", json_number_or_null(c.median_difference)},
                               {"statistic", json_number_or_null(c.statistic)}, {"p", json_number_or_null(c.p)},
                               {"q", json_number_or_null(c.q)}, {"test", c.test}, {"significant", c.significant},
                               {"kind", c.kind}});
    j["comparisons"] = comparisons;
    json pt = json::array(), roc = json::array();
    for (const auto& f : r.pseudotime_figures)
        pt.push_back({{"method", f.method}, {"pseudotime_class", to_string(f.pseudotime_class)}, {"split", r.figure_split},
                      {"depth", f.depth}, {"pseudotime", f.pseudotime}, {"branch", f.branch},
                      {"spearman", json_number_or_null(f.spearman)}});
    for (const auto& f : r.roc_figures)
        roc.push_back({{"method", f.method}, {"task", f.task}, {"split", r.figure_split}, {"fpr", f.fpr}, {"tpr", f.tpr},
                       {"auc", json_number_or_null(f.auc)}});
    json stages = json::array(), branches = json::array();
    if (cells.ruler != nullptr) {
        for (const auto& s : cells.ruler->stages) stages.push_back(s.name);
        for (const auto& b : cells.ruler->branches) branches.push_back(b);
    }
    // "manifold" keeps the reference's view in the version-1 shape, so older readers still draw it;
    // "manifolds" holds every method's, with the cells' own labels and the predicted stage.
    json manifold = nullptr, manifolds = json::array();
    for (const auto& m : r.manifold_figures) {
        json v = {{"method", m.method}, {"split", r.figure_split}, {"x", m.x}, {"y", m.y}, {"stage", m.stage}, {"stages", stages}};
        if (m.method == r.reference) manifold = v;
        v["label"] = m.label;
        v["labels"] = r.figure_labels;
        v["predicted_stage"] = m.predicted_stage.empty() ? json(nullptr) : json(m.predicted_stage);
        manifolds.push_back(std::move(v));
    }
    json confusion = json::array();
    for (const auto& c : r.confusion_figures)
        confusion.push_back({{"method", c.method}, {"task", c.task}, {"split", r.figure_split},
                             {"classes", c.task == "branch" ? branches : stages}, {"counts", c.counts}});
    j["figures"] = {{"pseudotime", pt}, {"roc", roc}, {"manifold", manifold}, {"manifolds", manifolds},
                    {"confusion", confusion}, {"branches", branches}};
    return j;
}

std::string bench_split_scores_tsv(const BenchResult& r) {
    std::string out = "split\tmethod\tpseudotime_class\tseconds";
    for (const auto& e : r.endpoints) out += "\t" + e.name;
    out += "\n";
    for (std::size_t s = 0; s < r.splits.splits.size(); ++s)
        for (const auto& m : r.methods) {
            out += fmt::format("{}\t{}\t{}\t{:.3f}", s, m.info.name, to_string(m.info.pseudotime), m.split_seconds[s]);
            for (std::size_t e = 0; e < r.endpoints.size(); ++e) out += "\t" + tsv_number(m.scores[s].split_value[e]);
            out += "\n";
        }
    return out;
}

std::string bench_donor_scores_tsv(const BenchResult& r, const BenchCells& cells) {
    std::string out = "donor\tmethod";
    for (const auto& e : r.endpoints) out += "\t" + e.name;
    out += "\n";
    for (std::size_t d = 0; d < r.splits.distinct_test_donors.size(); ++d)
        for (const auto& m : r.methods) {
            out += cells.donor_names[r.splits.distinct_test_donors[d]] + "\t" + m.info.name;
            for (std::size_t e = 0; e < r.endpoints.size(); ++e) out += "\t" + tsv_number(m.donor_means[e][d]);
            out += "\n";
        }
    return out;
}

std::string bench_comparisons_tsv(const BenchResult& r) {
    std::string out = "reference\tmethod\tendpoint\tunit\tn\tmean_reference\tmean_method\tmedian_difference\tstatistic\tp\tq\ttest\tsignificant\tkind\n";
    for (const auto& c : r.comparisons)
        out += fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n", c.reference, c.method, c.endpoint, c.unit, c.n,
                           tsv_number(c.mean_reference), tsv_number(c.mean_method), tsv_number(c.median_difference),
                           tsv_number(c.statistic), tsv_number(c.p), tsv_number(c.q), c.test, c.significant ? "yes" : "no", c.kind);
    return out;
}

} // namespace scx
