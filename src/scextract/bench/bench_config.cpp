#include "scextract/bench/bench_config.hpp"

#include "scextract/core/error.hpp"
#include "scextract/bench/algorithm_method.hpp"
#include "scextract/bench/celltypist_method.hpp"
#include "scextract/bench/dpt_method.hpp"
#include "scextract/bench/mlp_probe_method.hpp"
#include "scextract/bench/nested_selection.hpp"
#include "scextract/bench/palantir_method.hpp"
#include "scextract/bench/scvi_method.hpp"
#include "scextract/bench/pca_method.hpp"
#include "scextract/bench/raw_expression_method.hpp"
#include "scextract/io/json_object_reader.hpp"
#include "scextract/io/operator_file.hpp"
#include "scextract/io/json_parse.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

namespace {

using json = nlohmann::ordered_json;

// Plausibility bounds on what a config may declare, so that a typo or a hostile file is
// refused before any work rather than ending in std::bad_alloc hours later.
constexpr std::uint64_t kMaxBenchConfigBytes = std::uint64_t{16} << 20;
constexpr std::int64_t kMaxGenes = 100000;        // more than any transcriptome (scGPT's vocabulary: 60,697)
constexpr std::int64_t kMaxSimulatedCells = 10000000;
constexpr std::int64_t kMaxDonors = 1000000;
constexpr std::int64_t kMaxSplits = 1000;

/// Checks an integer of @p r against [lo, hi], naming the file and JSON path.
void check_range(JsonObjectReader& r, const char* key, std::int64_t v, std::int64_t lo, std::int64_t hi, const char* what) {
    if (v < lo) r.fail(fmt::format("'{}': {} is less than {} {}", key, v, lo, what));
    if (v > hi) r.fail(fmt::format("'{}': {} is more than {} {}", key, v, hi, what));
}

/// $.data.simulate: integers in plausible ranges (api/bench.cpp reads them).
void check_simulate_spec(const json& j, const std::string& path) {
    JsonObjectReader r(j, path + ": $.data.simulate");
    const auto cells = r.integer("cells", 20000);
    check_range(r, "cells", cells, 1, kMaxSimulatedCells, "cells");
    const auto donors = r.integer("donors", 20);
    check_range(r, "donors", donors, 1, std::min(cells, kMaxDonors), "donors (at most one per cell)");
    check_range(r, "genes", r.integer("genes", 2000), 1, kMaxGenes, "genes");
    (void)r.integer("seed", 42);
    (void)r.boolean("null", false);
    r.finish();
}

/// What building a method needs besides its own entry.
struct MethodContext;

/// Builds the method of one entry; @p where (file, JSON path and name) starts every error.
using MethodBuilder = std::unique_ptr<BenchMethod> (*)(const BenchMethodSpec& spec, const std::string& where,
                                                       MethodContext& context);

std::unique_ptr<BenchMethod> build_algorithm(const BenchMethodSpec& spec, const std::string& where, MethodContext& context);
std::unique_ptr<BenchMethod> build_select(const BenchMethodSpec& spec, const std::string& where, MethodContext& context);

/// A method whose entry parses into its options alone.
template <class Method, auto options_from_json>
std::unique_ptr<BenchMethod> build_plain(const BenchMethodSpec& spec, const std::string& where, MethodContext&) {
    auto o = options_from_json(spec.params, where);
    o.name = spec.name;
    return std::make_unique<Method>(std::move(o));
}

/// PCA-k (centred) or SVD-k, by the entry's type.
template <bool center>
std::unique_ptr<BenchMethod> build_projection(const BenchMethodSpec& spec, const std::string& where, MethodContext&) {
    auto o = pca_method_options_from_json(spec.params, where);
    o.name = spec.name;
    o.projection.center = center;
    return std::make_unique<PcaMethod>(std::move(o));
}

std::unique_ptr<BenchMethod> build_mlp_probe(const BenchMethodSpec& spec, const std::string& where, MethodContext& context);

struct MethodType {
    std::string_view name;
    MethodBuilder build;
};

/// Every method type a config may name, in the order error messages list them.
constexpr std::array<MethodType, 10> kMethodTypes = {{
    {"algorithm", build_algorithm},
    {"raw", build_plain<RawExpressionMethod, raw_expression_options_from_json>},
    {"pca", build_projection<true>},
    {"svd", build_projection<false>},
    {"celltypist", build_plain<CellTypistMethod, celltypist_method_options_from_json>},
    {"dpt", build_plain<DptMethod, dpt_method_options_from_json>},
    {"palantir", build_plain<PalantirMethod, palantir_method_options_from_json>},
    {"mlp_probe", build_mlp_probe},
    {"scvi", build_plain<ScviMethod, scvi_method_options_from_json>},
    {"select", build_select},
}};

const MethodType* find_method_type(const std::string& type) {
    const auto it = std::find_if(kMethodTypes.begin(), kMethodTypes.end(), [&](const MethodType& t) { return t.name == type; });
    return it == kMethodTypes.end() ? nullptr : &*it;
}

bool is_method_type(const std::string& type) { return find_method_type(type) != nullptr; }

/// "one of algorithm, raw, ...", for error messages.
std::string method_type_list() {
    std::vector<std::string_view> names;
    for (const auto& t : kMethodTypes) names.push_back(t.name);
    return fmt::format("one of {}", fmt::join(names, ", "));
}

} // namespace

std::string bench_config_path(const BenchConfig& config, const std::string& path) {
    const std::filesystem::path p(path);
    return p.is_absolute() ? path : (std::filesystem::path(config.folder) / p).string();
}

BenchConfig read_bench_config(const std::string& path) {
    BenchConfig c;
    c.path = path;
    c.folder = std::filesystem::absolute(path).parent_path().string();
    c.json = parse_json_bounded<json>(read_json_file_text(path, kMaxBenchConfigBytes, "bench config"), path);
    JsonObjectReader top(c.json, path + ": $");
    if (!top.has("data")) top.fail("'data' is required (a file path or {\"simulate\": {...}})");
    {
        const auto& d = top.at("data");
        if (d.is_string()) {
            c.data.path = d.get<std::string>();
        } else {
            JsonObjectReader r(d, path + ": $.data");
            c.data.path = r.string("path", "");
            if (r.has("simulate")) {
                c.data.simulate = r.at("simulate");
                check_simulate_spec(*c.data.simulate, path);
            }
            if (c.data.path.empty() == !c.data.simulate) r.fail("give exactly one of 'path' and 'simulate'");
            c.data.label_key = r.string("label_key", c.data.label_key);
            c.data.donor_key = r.string("donor_key", c.data.donor_key);
            if (r.has("tissue_key")) c.data.tissue_key = r.string("tissue_key", "");
            c.data.layer = r.string("layer", "");
            c.data.gene_column = r.string("gene_column", "");
            c.data.raw = r.boolean("raw", false);
            c.data.input.kind = parse_input_kind(r.string("input_kind", "detect"), path + ": $.data.input_kind");
            if (r.has("input_target_sum")) {
                c.data.input.target_sum = r.number("input_target_sum", 0.0);
                if (!(*c.data.input.target_sum > 0)) r.fail("'input_target_sum' must be positive");
            }
            c.data.label_map = r.string("label_map", "");
            c.data.cell_folds = r.integer("cell_folds", c.data.cell_folds);
            if (c.data.cell_folds < 2 || c.data.cell_folds > 1000) r.fail("'cell_folds' must be between 2 and 1000");
            r.finish();
        }
    }
    c.ruler = top.string("ruler", c.ruler);
    if (top.has("panel")) {
        JsonObjectReader r(top.at("panel"), path + ": $.panel");
        if (r.has("from_operator")) c.panel_from = r.string("from_operator", "");
        c.panel_size = r.integer("size", c.panel_size);
        if (c.panel_size < 2) r.fail("'size' must be at least 2");
        check_range(r, "size", c.panel_size, 2, kMaxGenes, "genes (more than any transcriptome holds)");
        r.finish();
    }
    if (top.has("splits")) {
        JsonObjectReader r(top.at("splits"), path + ": $.splits");
        auto& s = c.options.splits;
        s.n_splits = r.integer("n", s.n_splits);
        s.test_donors = r.integer("test_donors", s.test_donors);
        s.max_train_cells = r.integer("max_train_cells", s.max_train_cells);
        s.seed = static_cast<std::uint64_t>(r.integer("seed", static_cast<std::int64_t>(s.seed)));
        if (s.n_splits < 1) r.fail("'n' must be at least 1");
        if (s.test_donors < 0) r.fail("'test_donors' must be positive (or 0 for 20% of the donors)");
        if (s.max_train_cells < 1) r.fail("'max_train_cells' must be positive");
        check_range(r, "n", s.n_splits, 1, kMaxSplits, "splits");
        check_range(r, "test_donors", s.test_donors, 0, kMaxDonors, "donors");
        r.finish();
    }
    if (top.has("endpoints")) {
        const auto& e = top.at("endpoints");
        if (!e.is_array()) top.fail("'endpoints' must be a list of endpoint names");
        for (const auto& x : e) {
            if (!x.is_string()) top.fail("'endpoints' must be a list of endpoint names");
            c.options.endpoints.push_back(x.get<std::string>());
        }
    }
    c.options.reference = top.string("reference", "");
    c.options.fdr = top.number("fdr", c.options.fdr);
    if (!(c.options.fdr > 0 && c.options.fdr < 1))
        top.fail(fmt::format("'fdr': {} is not a q threshold in (0, 1)", c.options.fdr));
    c.options.endpoint_options.min_donor_cells = top.integer("min_donor_cells", c.options.endpoint_options.min_donor_cells);
    check_range(top, "min_donor_cells", c.options.endpoint_options.min_donor_cells, 0, kMaxSimulatedCells, "cells");
    c.options.figure_points = top.integer("figure_points", c.options.figure_points);
    check_range(top, "figure_points", c.options.figure_points, 0, kMaxSimulatedCells, "points");
    if (!top.has("methods") || !top.at("methods").is_array() || top.at("methods").empty())
        top.fail("'methods' must be a non-empty list");
    const bool ladder = top.boolean("ladder", false);
    c.compression_chain = top.boolean("compression_chain", false);
    const auto& methods = top.at("methods");
    std::string previous_rung; // the ladder compares each method with the one above, controls aside
    for (std::size_t i = 0; i < methods.size(); ++i) {
        const auto where = fmt::format("$.methods[{}]", i);
        if (!methods[i].is_object()) throw Error(fmt::format("{}: {}: must be an object", path, where));
        BenchMethodSpec m;
        m.params = methods[i];
        if (!m.params.contains("type") || !m.params["type"].is_string())
            throw Error(fmt::format("{}: {}: 'type' is required ({})", path, where, method_type_list()));
        m.type = m.params["type"].get<std::string>();
        if (!is_method_type(m.type))
            throw Error(fmt::format("{}: {}: unknown method type '{}' ({})", path, where, m.type, method_type_list()));
        m.name = m.params.value("name", m.type);
        std::string against;
        if (m.params.contains("against")) {
            if (!m.params["against"].is_string()) throw Error(fmt::format("{}: {}.against: must be a method name", path, where));
            against = m.params["against"].get<std::string>();
        }
        std::vector<std::string> controls;
        if (m.params.contains("controls")) {
            const auto& list = m.params["controls"];
            if (m.type != "algorithm") throw Error(fmt::format("{}: {}.controls: only an algorithm method has controls", path, where));
            if (!list.is_array()) throw Error(fmt::format("{}: {}.controls: must be a list, e.g. [\"gene_permuted\"]", path, where));
            for (std::size_t k = 0; k < list.size(); ++k) {
                if (!list[k].is_string() || list[k].get<std::string>() != "gene_permuted")
                    throw Error(fmt::format("{}: {}.controls[{}]: unknown control (known: gene_permuted)", path, where, k));
                controls.push_back(list[k].get<std::string>());
            }
            if (m.params.contains("control"))
                throw Error(fmt::format("{}: {}.controls: a method that is itself a control ('control') has no controls", path, where));
            if (m.params.value("operator", "") == "identity")
                throw Error(fmt::format("{}: {}.controls: the identity operator has no gene identity to permute (P I P^T = I)", path, where));
        }
        for (const auto* key : {"type", "name", "against", "controls"}) m.params.erase(key);
        // "against" pairs a method with the one it names in any config; a ladder also pairs
        // every other method with the one above it.
        if (!against.empty()) c.options.pairs.push_back({m.name, against, "ladder"});
        else if (ladder && !previous_rung.empty()) c.options.pairs.push_back({m.name, previous_rung, "ladder"});
        previous_rung = m.name;
        const auto name = m.name;
        const auto params = m.params;
        c.methods.push_back(std::move(m));
        for (const auto& control : controls) {
            BenchMethodSpec twin{"algorithm", name + "_" + control, params};
            twin.params["control"] = control;
            c.options.pairs.push_back({name, twin.name, "control"});
            c.methods.push_back(std::move(twin));
        }
    }
    for (const auto& pair : c.options.pairs)
        if (std::none_of(c.methods.begin(), c.methods.end(), [&](const BenchMethodSpec& m) { return m.name == pair.against; }))
            top.fail(fmt::format("a rung is compared with '{}', which is not a method of this config", pair.against));
    top.finish();
    return c;
}

namespace {

/// Operator files read once, however many methods name them.
class OperatorCache {
public:
    explicit OperatorCache(const BenchConfig& config) : config_(config) {}
    const OperatorSet& get(const std::string& file) {
        const auto full = bench_config_path(config_, file);
        auto it = sets_.find(full);
        if (it == sets_.end()) it = sets_.emplace(full, read_operator_file(full)).first;
        return it->second;
    }

private:
    const BenchConfig& config_;
    std::map<std::string, OperatorSet> sets_;
};

struct MethodContext {
    const BenchConfig& config;
    const BenchCells& cells;
    OperatorCache operators;
};

std::unique_ptr<BenchMethod> make_method(const BenchMethodSpec& spec, const std::string& where, MethodContext& context) {
    const auto* type = find_method_type(spec.type);
    if (!type) throw Error(fmt::format("{}: unknown method type '{}' ({})", where, spec.type, method_type_list()));
    return type->build(spec, where, context);
}

std::unique_ptr<BenchMethod> build_algorithm(const BenchMethodSpec& spec, const std::string& where, MethodContext& context) {
    return make_algorithm_method(spec.name, algorithm_method_spec_from_json(spec.params, where), context.cells.panel,
                                 [&](const std::string& file) -> const OperatorSet& { return context.operators.get(file); });
}

std::unique_ptr<BenchMethod> build_mlp_probe(const BenchMethodSpec& spec, const std::string& where, MethodContext& context) {
    auto o = mlp_probe_method_options_from_json(spec.params, where);
    o.name = spec.name;
    o.model = bench_config_path(context.config, o.model);
    return std::make_unique<MlpProbeMethod>(std::move(o));
}

std::unique_ptr<BenchMethod> build_select(const BenchMethodSpec& spec, const std::string& where, MethodContext& context) {
    auto o = nested_selection_options_from_json(spec.params, where);
    (void)select_endpoints(context.cells, o.endpoints); // an unknown name fails now, not after the first fold
    // Candidates are methods of their own, each named; the held-out donors never choose.
    std::vector<std::unique_ptr<BenchMethod>> candidates;
    const auto& list = spec.params.at("candidates");
    for (std::size_t k = 0; k < list.size(); ++k) {
        const auto cwhere = fmt::format("{}.candidates[{}]", where, k);
        if (!list[k].is_object() || !list[k].contains("type") || !list[k]["type"].is_string())
            throw Error(fmt::format("{}: must be a method object with a 'type'", cwhere));
        BenchMethodSpec c{list[k]["type"].get<std::string>(), list[k].value("name", list[k]["type"].get<std::string>()), list[k]};
        if (c.type == "select" || !is_method_type(c.type))
            throw Error(fmt::format("{}: unknown candidate type '{}' ({}; not select)", cwhere, c.type, method_type_list()));
        c.params.erase("type");
        c.params.erase("name");
        candidates.push_back(make_method(c, cwhere + " ('" + c.name + "')", context));
    }
    return std::make_unique<NestedSelectionMethod>(spec.name, std::move(candidates), o);
}

} // namespace

std::vector<std::unique_ptr<BenchMethod>> make_bench_methods(const BenchConfig& config, const BenchCells& cells) {
    MethodContext context{config, cells, OperatorCache(config)};
    std::vector<std::unique_ptr<BenchMethod>> out;
    for (std::size_t i = 0; i < config.methods.size(); ++i) {
        const auto& spec = config.methods[i];
        out.push_back(make_method(spec, fmt::format("{}: $.methods[{}] ('{}')", config.path, i, spec.name), context));
    }
    return out;
}

} // namespace scx
