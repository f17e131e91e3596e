#include "scextract/report/bench_results_reader.hpp"

#include "scextract/core/error.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

namespace scx::report {

bool is_pseudotime_endpoint(std::string_view endpoint) { return endpoint == "depth_spearman"; }

const Method* Results::find_method(std::string_view name) const {
    for (const auto& m : methods)
        if (m.name == name) return &m;
    return nullptr;
}

std::vector<std::optional<double>> Results::split_scores(std::string_view method,
                                                              std::string_view endpoint) const {
    std::vector<const Score*> rows;
    for (const auto& s : scores)
        if (s.method == method && s.endpoint == endpoint) rows.push_back(&s);
    std::stable_sort(rows.begin(), rows.end(), [](const auto* a, const auto* b) { return a->split < b->split; });
    std::vector<std::optional<double>> out;
    for (const auto* s : rows) out.push_back(s->value);
    return out;
}

const Comparison* Results::find_comparison(std::string_view method, std::string_view endpoint,
                                                     ComparisonUnit unit) const {
    for (const auto& c : comparisons)
        if (c.kind == "reference" && c.reference == reference && c.method == method && c.endpoint == endpoint && c.unit == unit)
            return &c;
    return nullptr;
}

bool Results::across_classes(const Comparison& c) const {
    if (!is_pseudotime_endpoint(c.endpoint)) return false;
    const auto* a = find_method(c.reference);
    const auto* b = find_method(c.method);
    return a != nullptr && b != nullptr && a->pseudotime_class != PseudotimeClass::none &&
           b->pseudotime_class != PseudotimeClass::none && a->pseudotime_class != b->pseudotime_class;
}

ScoreSummary summarise_scores(const std::vector<std::optional<double>>& values) {
    ScoreSummary s;
    s.total = values.size();
    std::vector<double> v;
    for (const auto& x : values)
        if (x && std::isfinite(*x)) v.push_back(*x);
    s.present = v.size();
    if (v.empty()) return s;
    for (const double x : v) s.mean += x;
    s.mean /= static_cast<double>(v.size());
    if (v.size() > 1) {
        for (const double x : v) s.sd += (x - s.mean) * (x - s.mean);
        s.sd = std::sqrt(s.sd / static_cast<double>(v.size() - 1));
    }
    return s;
}

std::string_view comparison_direction(const Comparison& c, const Endpoint& e) {
    if (!c.mean_method || !c.mean_reference || *c.mean_method == *c.mean_reference) return {};
    const bool up = *c.mean_method > *c.mean_reference;
    return up == e.higher_is_better ? "better" : "worse";
}

namespace {

using nlohmann::json;

/// Thrown inside the reader and re-thrown once with the source name in front.
struct Problem {
    std::string what;
};

[[noreturn]] void fail(std::string what) { throw Problem{std::move(what)}; }

/// A JSON value and its path in the file, so every error names the key it is about.
class Node {
public:
    Node(const json& j, std::string path) : j_(j), path_(std::move(path)) {}

    [[nodiscard]] Node at(const char* key) const {
        if (!j_.is_object()) fail(fmt::format("'{}' must be an object", path_));
        const auto it = j_.find(key);
        const auto child = path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
        if (it == j_.end()) fail(fmt::format("missing key '{}'", child));
        return {*it, child};
    }
    [[nodiscard]] std::vector<Node> elements() const {
        if (!j_.is_array()) fail(fmt::format("'{}' must be an array", path_));
        std::vector<Node> out;
        for (std::size_t i = 0; i < j_.size(); ++i) out.emplace_back(j_[i], fmt::format("{}[{}]", path_, i));
        return out;
    }
    [[nodiscard]] bool is_null() const { return j_.is_null(); }
    [[nodiscard]] bool has(const char* key) const { return j_.is_object() && j_.contains(key); }
    [[nodiscard]] const json& raw() const { return j_; }
    [[nodiscard]] const std::string& path() const { return path_; }

    [[nodiscard]] std::string str() const {
        if (!j_.is_string()) fail(fmt::format("'{}' must be a string", path_));
        return j_.get<std::string>();
    }
    [[nodiscard]] std::int64_t integer() const {
        if (!j_.is_number_integer()) fail(fmt::format("'{}' must be an integer", path_));
        return j_.get<std::int64_t>();
    }
    [[nodiscard]] std::int64_t count() const {
        const auto v = integer();
        if (v < 0) fail(fmt::format("'{}' must not be negative", path_));
        return v;
    }
    [[nodiscard]] double number() const {
        if (!j_.is_number()) fail(fmt::format("'{}' must be a number", path_));
        return j_.get<double>();
    }
    [[nodiscard]] std::optional<double> number_or_null() const {
        if (j_.is_null()) return std::nullopt;
        return number();
    }
    [[nodiscard]] bool boolean() const {
        if (!j_.is_boolean()) fail(fmt::format("'{}' must be true or false", path_));
        return j_.get<bool>();
    }
    [[nodiscard]] std::vector<std::string> strings() const {
        std::vector<std::string> out;
        for (const auto& e : elements()) out.push_back(e.str());
        return out;
    }
    [[nodiscard]] std::vector<double> numbers() const {
        std::vector<double> out;
        for (const auto& e : elements()) out.push_back(e.number());
        return out;
    }
    /// Figure data: JSON has no NaN, so a non-finite value is written as null; it is not drawn.
    [[nodiscard]] double number_or_nan() const { return number_or_null().value_or(std::nan("")); }
    [[nodiscard]] std::vector<double> numbers_or_nan() const {
        std::vector<double> out;
        for (const auto& e : elements()) out.push_back(e.number_or_nan());
        return out;
    }

private:
    const json& j_;
    std::string path_;
};

PseudotimeClass pseudotime_class(const Node& n) {
    const auto s = n.str();
    if (s == "none") return PseudotimeClass::none;
    if (s == "supervised") return PseudotimeClass::supervised;
    if (s == "unsupervised") return PseudotimeClass::unsupervised;
    fail(fmt::format("'{}' is '{}'; expected none, supervised or unsupervised", n.path(), s));
}

Dataset read_dataset(const Node& n) {
    Dataset d;
    d.path = n.at("path").str();
    d.n_cells = n.at("n_cells").count();
    d.n_genes = n.at("n_genes").count();
    d.n_donors = n.at("n_donors").count();
    d.n_tissues = n.at("n_tissues").count();
    d.label_key = n.at("label_key").str();
    d.donor_key = n.at("donor_key").str();
    if (const auto t = n.at("tissue_key"); !t.is_null()) d.tissue_key = t.str();
    d.panel_genes = n.at("panel_genes").count();
    // fields later versions added; older results.json files lack them
    if (n.has("input_kind")) d.input_kind = n.at("input_kind").str();
    if (n.has("split_unit")) d.split_unit = n.at("split_unit").str();
    if (n.has("split_unit_note")) d.split_unit_note = n.at("split_unit_note").str();
    if (n.has("unmapped_labels")) {
        for (const auto& e : n.at("unmapped_labels").elements())
            d.unmapped_labels.emplace_back(e.at("label").str(), e.at("n_cells").count());
    }
    return d;
}

Splits read_splits(const Node& n) {
    Splits s;
    s.n = n.at("n").count();
    s.test_donors_per_split = n.at("test_donors_per_split").count();
    s.seed = static_cast<std::uint64_t>(n.at("seed").count());
    s.max_train_cells = n.at("max_train_cells").count();
    s.distinct_test_donors = n.at("distinct_test_donors").strings();
    for (const auto& e : n.at("list").elements())
        s.list.push_back({.index = e.at("index").count(),
                          .test_donors = e.at("test_donors").strings(),
                          .n_train = e.at("n_train").count(),
                          .n_test = e.at("n_test").count()});
    return s;
}

Method read_method(const Node& n) {
    Method m;
    m.name = n.at("name").str();
    m.description = n.at("description").str();
    m.pseudotime_class = pseudotime_class(n.at("pseudotime_class"));
    m.trainable_parameters = n.at("trainable_parameters").integer();
    if (m.trainable_parameters < -1) fail(fmt::format("'{}.trainable_parameters' must be -1 (unknown) or more", n.path()));
    m.cache_seconds = n.at("cache_seconds").number();
    m.split_seconds = n.at("split_seconds").numbers();
    m.total_seconds = n.at("total_seconds").number();
    // files written before operator sizes were recorded have no key
    if (n.has("operator_size") && !n.at("operator_size").is_null()) {
        const auto size = n.at("operator_size");
        m.operator_size = OperatorSize{.stored_values = size.at("stored_values").count(), .mb = size.at("mb").number()};
        if (!(m.operator_size->mb >= 0)) fail(fmt::format("'{}.mb' must not be negative", size.path()));
    }
    return m;
}

ComparisonUnit comparison_unit(const Node& n) {
    const auto s = n.str();
    if (s == "splits") return ComparisonUnit::splits;
    if (s == "donors") return ComparisonUnit::donors;
    fail(fmt::format("'{}' is '{}'; expected splits or donors", n.path(), s));
}

Comparison read_comparison(const Node& n) {
    Comparison c;
    c.reference = n.at("reference").str();
    c.method = n.at("method").str();
    c.endpoint = n.at("endpoint").str();
    c.unit = comparison_unit(n.at("unit"));
    c.n = n.at("n").count();
    c.mean_reference = n.at("mean_reference").number_or_null();
    c.mean_method = n.at("mean_method").number_or_null();
    c.median_difference = n.at("median_difference").number_or_null();
    c.statistic = n.at("statistic").number_or_null();
    c.p = n.at("p").number_or_null();
    c.q = n.at("q").number_or_null();
    c.test = n.at("test").str();
    if (c.test != "exact" && c.test != "permutation" && c.test != "normal" && c.test != "none")
        fail(fmt::format("'{}.test' is '{}'; expected exact, permutation, normal or none", n.path(), c.test));
    c.significant = n.at("significant").boolean();
    // files written before pairs existed hold only comparisons with the reference
    c.kind = n.has("kind") ? n.at("kind").str() : "reference";
    if (c.kind != "reference" && c.kind != "ladder" && c.kind != "control")
        fail(fmt::format("'{}.kind' is '{}'; expected reference, ladder or control", n.path(), c.kind));
    return c;
}

void require_same_length(const Node& n, std::size_t a, const char* key_a, std::size_t b, const char* key_b) {
    if (a != b) fail(fmt::format("'{}': {} has {} values but {} has {}", n.path(), key_a, a, key_b, b));
}

Figures read_figures(const Node& n) {
    Figures f;
    for (const auto& e : n.at("pseudotime").elements()) {
        PseudotimePanel p{.method = e.at("method").str(),
                               .pseudotime_class = pseudotime_class(e.at("pseudotime_class")),
                               .split = e.at("split").count(),
                               .depth = e.at("depth").numbers_or_nan(),
                               .pseudotime = e.at("pseudotime").numbers_or_nan(),
                               .spearman = e.at("spearman").number_or_nan()};
        require_same_length(e, p.depth.size(), "depth", p.pseudotime.size(), "pseudotime");
        f.pseudotime.push_back(std::move(p));
    }
    for (const auto& e : n.at("roc").elements()) {
        RocLine r{.method = e.at("method").str(),
                       .task = e.at("task").str(),
                       .split = e.at("split").count(),
                       .fpr = e.at("fpr").numbers_or_nan(),
                       .tpr = e.at("tpr").numbers_or_nan(),
                       .auc = e.at("auc").number_or_nan()};
        require_same_length(e, r.fpr.size(), "fpr", r.tpr.size(), "tpr");
        f.roc.push_back(std::move(r));
    }
    const auto indices = [](const Node& list, std::size_t n_classes, bool allow_none) {
        std::vector<std::int64_t> out;
        for (const auto& s : list.elements()) {
            const auto v = allow_none && s.integer() == -1 ? std::int64_t{-1} : s.count();
            if (v >= static_cast<std::int64_t>(n_classes))
                fail(fmt::format("'{}' is {} but there are {} classes", s.path(), v, n_classes));
            out.push_back(v);
        }
        return out;
    };
    if (n.has("branches")) f.branches = n.at("branches").strings();
    {
        const auto list = n.at("pseudotime").elements();
        for (std::size_t i = 0; i < list.size(); ++i) {
            if (!list[i].has("branch")) continue;
            f.pseudotime[i].branch = indices(list[i].at("branch"), f.branches.size(), true);
            require_same_length(list[i], f.pseudotime[i].depth.size(), "depth", f.pseudotime[i].branch.size(), "branch");
        }
    }
    const auto read_view = [&](const Node& m) {
        ManifoldView d{.method = m.at("method").str(),
                       .split = m.at("split").count(),
                       .x = m.at("x").numbers_or_nan(),
                       .y = m.at("y").numbers_or_nan(),
                       .stage = {},
                       .stages = m.at("stages").strings()};
        d.stage = indices(m.at("stage"), d.stages.size(), false);
        require_same_length(m, d.x.size(), "x", d.y.size(), "y");
        require_same_length(m, d.x.size(), "x", d.stage.size(), "stage");
        if (m.has("labels") && m.has("label")) {
            d.labels = m.at("labels").strings();
            d.label = indices(m.at("label"), d.labels.size(), false);
            if (!d.label.empty()) require_same_length(m, d.x.size(), "x", d.label.size(), "label");
        }
        if (m.has("predicted_stage") && !m.at("predicted_stage").is_null()) {
            d.predicted_stage = indices(m.at("predicted_stage"), d.stages.size(), true);
            require_same_length(m, d.x.size(), "x", d.predicted_stage.size(), "predicted_stage");
        }
        return d;
    };
    if (n.has("manifolds")) {
        for (const auto& m : n.at("manifolds").elements()) f.manifolds.push_back(read_view(m));
    } else if (const auto m = n.at("manifold"); !m.is_null()) {
        f.manifolds.push_back(read_view(m));
    }
    if (n.has("confusion")) {
        f.confusion_recorded = true;
        for (const auto& e : n.at("confusion").elements()) {
            ConfusionView c{.method = e.at("method").str(), .task = e.at("task").str(), .split = e.at("split").count(),
                            .classes = e.at("classes").strings(), .counts = {}};
            if (c.task != "branch" && c.task != "stage")
                fail(fmt::format("'{}.task' is '{}'; expected branch or stage", e.path(), c.task));
            for (const auto& row : e.at("counts").elements()) {
                std::vector<std::int64_t> values;
                for (const auto& v : row.elements()) values.push_back(v.count());
                require_same_length(row, values.size(), "the row", c.classes.size() + 1, "classes + 1 (no prediction)");
                c.counts.push_back(std::move(values));
            }
            require_same_length(e, c.counts.size(), "counts", c.classes.size(), "classes");
            f.confusion.push_back(std::move(c));
        }
    }
    return f;
}

/// The config keys the report itself follows (the rest it only shows): `fdr` and `compression_chain`.
void read_report_settings(const Node& config, Results& r) {
    if (!config.raw().is_object()) return;
    if (config.has("fdr") && !config.at("fdr").is_null()) {
        const auto fdr = config.at("fdr");
        r.fdr = fdr.number();
        if (!(r.fdr > 0 && r.fdr <= 1)) fail(fmt::format("'{}' is {}; expected a q threshold in (0, 1]", fdr.path(), r.fdr));
    }
    if (config.has("compression_chain") && !config.at("compression_chain").is_null())
        r.compression_chain = config.at("compression_chain").boolean();
}

/// Every method and endpoint a row or figure names must be declared, so nothing is silently dropped.
void check_names(const Results& r) {
    std::set<std::string> methods, endpoints;
    for (std::size_t i = 0; i < r.methods.size(); ++i)
        if (!methods.insert(r.methods[i].name).second)
            fail(fmt::format("methods[{}]: method '{}' is listed twice", i, r.methods[i].name));
    for (std::size_t i = 0; i < r.endpoints.size(); ++i)
        if (!endpoints.insert(r.endpoints[i].name).second)
            fail(fmt::format("endpoints[{}]: endpoint '{}' is listed twice", i, r.endpoints[i].name));
    const auto method = [&](const std::string& name, const std::string& where) {
        if (!methods.contains(name)) fail(fmt::format("'{}' names method '{}', which 'methods' does not list", where, name));
    };
    const auto endpoint = [&](const std::string& name, const std::string& where) {
        if (!endpoints.contains(name))
            fail(fmt::format("'{}' names endpoint '{}', which 'endpoints' does not list", where, name));
    };
    method(r.reference, "reference");
    for (std::size_t i = 0; i < r.scores.size(); ++i) {
        method(r.scores[i].method, fmt::format("scores[{}].method", i));
        endpoint(r.scores[i].endpoint, fmt::format("scores[{}].endpoint", i));
    }
    for (std::size_t i = 0; i < r.donor_scores.size(); ++i) {
        method(r.donor_scores[i].method, fmt::format("donor_scores[{}].method", i));
        endpoint(r.donor_scores[i].endpoint, fmt::format("donor_scores[{}].endpoint", i));
    }
    for (std::size_t i = 0; i < r.comparisons.size(); ++i) {
        method(r.comparisons[i].reference, fmt::format("comparisons[{}].reference", i));
        method(r.comparisons[i].method, fmt::format("comparisons[{}].method", i));
        endpoint(r.comparisons[i].endpoint, fmt::format("comparisons[{}].endpoint", i));
    }
    for (std::size_t i = 0; i < r.figures.pseudotime.size(); ++i)
        method(r.figures.pseudotime[i].method, fmt::format("figures.pseudotime[{}].method", i));
    for (std::size_t i = 0; i < r.figures.roc.size(); ++i)
        method(r.figures.roc[i].method, fmt::format("figures.roc[{}].method", i));
    for (std::size_t i = 0; i < r.figures.manifolds.size(); ++i)
        method(r.figures.manifolds[i].method, fmt::format("figures.manifolds[{}].method", i));
    for (std::size_t i = 0; i < r.figures.confusion.size(); ++i)
        method(r.figures.confusion[i].method, fmt::format("figures.confusion[{}].method", i));
}

Results read_results(const nlohmann::json& results) {
    const Node root(results, "");
    if (!results.is_object()) fail("the top level must be a JSON object");
    if (const auto format = root.at("format").str(); format != kResultsFormat)
        fail(fmt::format("format is '{}', expected '{}'", format, kResultsFormat));
    if (const auto version = root.at("version").integer(); version != kResultsVersion)
        fail(fmt::format("version {} is not supported (this scextract reads version {})", version,
                         kResultsVersion));

    Results r;
    r.scextract_version = root.at("scextract_version").str();
    r.command = root.at("command").str();
    r.config = root.at("config").raw();
    r.dataset = read_dataset(root.at("dataset"));
    r.splits = read_splits(root.at("splits"));
    for (const auto& e : root.at("methods").elements()) r.methods.push_back(read_method(e));
    r.reference = root.at("reference").str();
    for (const auto& e : root.at("endpoints").elements())
        r.endpoints.push_back({.name = e.at("name").str(),
                               .label = e.at("label").str(),
                               .higher_is_better = e.at("higher_is_better").boolean()});
    for (const auto& e : root.at("scores").elements())
        r.scores.push_back({.method = e.at("method").str(),
                            .endpoint = e.at("endpoint").str(),
                            .split = e.at("split").count(),
                            .value = e.at("value").number_or_null()});
    for (const auto& e : root.at("donor_scores").elements())
        r.donor_scores.push_back({.method = e.at("method").str(),
                                  .endpoint = e.at("endpoint").str(),
                                  .donor = e.at("donor").str(),
                                  .value = e.at("value").number_or_null()});
    for (const auto& e : root.at("comparisons").elements()) r.comparisons.push_back(read_comparison(e));
    r.figures = read_figures(root.at("figures"));
    read_report_settings(root.at("config"), r);
    check_names(r);
    return r;
}

} // namespace

Results parse_results(const nlohmann::json& results, std::string_view source) {
    try {
        return read_results(results);
    } catch (const Problem& p) {
        throw Error(fmt::format("{}: {}", source, p.what));
    }
}

} // namespace scx::report
