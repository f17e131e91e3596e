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
#include "scextract/extract/compress.hpp"
#include "scextract/extract/control_operators.hpp"
#include "scextract/io/operator_file.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

namespace {

using json = nlohmann::ordered_json;

/// Reads typed values from one JSON object, naming file and path in every error, and
/// refusing keys it was not asked about.
class ObjectReader {
public:
    ObjectReader(const json& j, std::string file, std::string where) : j_(j), file_(std::move(file)), where_(std::move(where)) {
        if (!j_.is_object()) fail("must be an object");
    }
    [[noreturn]] void fail(const std::string& what) const { throw Error(fmt::format("{}: {}: {}", file_, where_, what)); }
    bool has(const std::string& key) {
        seen_.insert(key);
        return j_.contains(key) && !j_.at(key).is_null();
    }
    const json& at(const std::string& key) {
        seen_.insert(key);
        return j_.at(key);
    }
    std::string path_of(const std::string& key) const { return where_ + "." + key; }
    std::string string(const std::string& key, std::string fallback) {
        if (!has(key)) return fallback;
        if (!j_.at(key).is_string()) fail(fmt::format("'{}' must be a string", key));
        return j_.at(key).get<std::string>();
    }
    std::int64_t integer(const std::string& key, std::int64_t fallback) {
        if (!has(key)) return fallback;
        if (!j_.at(key).is_number_integer()) fail(fmt::format("'{}' must be an integer", key));
        return j_.at(key).get<std::int64_t>();
    }
    double number(const std::string& key, double fallback) {
        if (!has(key)) return fallback;
        if (!j_.at(key).is_number()) fail(fmt::format("'{}' must be a number", key));
        return j_.at(key).get<double>();
    }
    bool boolean(const std::string& key, bool fallback) {
        if (!has(key)) return fallback;
        if (!j_.at(key).is_boolean()) fail(fmt::format("'{}' must be true or false", key));
        return j_.at(key).get<bool>();
    }
    /// Throws on any key not read, so a misspelt option is an error.
    void finish() const {
        for (const auto& [k, v] : j_.items())
            if (!seen_.contains(k)) fail(fmt::format("unknown key '{}'", k));
    }

private:
    const json& j_;
    std::string file_, where_;
    std::set<std::string> seen_;
};

constexpr std::array<std::string_view, 10> kMethodTypes = {"algorithm", "raw", "pca", "svd", "celltypist",
                                                          "dpt", "palantir", "mlp_probe", "scvi", "select"};

bool is_method_type(const std::string& type) {
    return std::find(kMethodTypes.begin(), kMethodTypes.end(), type) != kMethodTypes.end();
}

/// "one of algorithm, raw, ...", for error messages.
std::string method_type_list() { return fmt::format("one of {}", fmt::join(kMethodTypes, ", ")); }

/// The ladder keys of an algorithm method: bottleneck (adaptor | none | pca, with
/// components), latent (z | unit) and readout (linear | mlp, with hidden). Combinations
/// that cannot differ are refused.
AlgorithmLadderOptions algorithm_ladder_options(ObjectReader& r) {
    AlgorithmLadderOptions o;
    const auto bottleneck = r.string("bottleneck", "adaptor");
    if (bottleneck == "none") o.bottleneck = LadderBottleneck::none;
    else if (bottleneck == "pca") o.bottleneck = LadderBottleneck::pca;
    else if (bottleneck != "adaptor") r.fail("'bottleneck' must be adaptor, none or pca");
    if (r.has("components") && o.bottleneck != LadderBottleneck::pca) r.fail("'components' applies to 'bottleneck' pca only");
    o.pca_components = r.integer("components", o.pca_components);
    if (o.pca_components < 1) r.fail("'components' must be positive");
    const auto latent = r.string("latent", "z");
    if (latent == "unit") o.latent = LadderLatent::unit;
    else if (latent != "z") r.fail("'latent' must be z or unit");
    if (o.latent == LadderLatent::unit && o.bottleneck != LadderBottleneck::adaptor)
        r.fail("'latent' unit (z / |z|) applies to the adaptor's latent, whose lengths the ruler term leaves free");
    const auto readout = r.string("readout", "linear");
    if (readout == "mlp") o.readout = LadderReadout::mlp;
    else if (readout != "linear") r.fail("'readout' must be linear or mlp");
    if (r.has("hidden") && o.readout != LadderReadout::mlp) r.fail("'hidden' applies to 'readout' mlp only");
    o.mlp.hidden = {r.integer("hidden", o.mlp.hidden.front())};
    if (o.mlp.hidden.front() < 1) r.fail("'hidden' must be a positive width");
    return o;
}

} // namespace

std::string bench_config_path(const BenchConfig& config, const std::string& path) {
    const std::filesystem::path p(path);
    return p.is_absolute() ? path : (std::filesystem::path(config.folder) / p).string();
}

BenchConfig read_bench_config(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(fmt::format("{}: cannot open the bench config", path));
    BenchConfig c;
    c.path = path;
    c.folder = std::filesystem::absolute(path).parent_path().string();
    try {
        c.json = json::parse(in);
    } catch (const json::parse_error& e) {
        throw Error(fmt::format("{}: not valid JSON: {}", path, e.what()));
    }
    ObjectReader top(c.json, path, "$");
    if (!top.has("data")) top.fail("'data' is required (a file path or {\"simulate\": {...}})");
    {
        const auto& d = top.at("data");
        if (d.is_string()) {
            c.data.path = d.get<std::string>();
        } else {
            ObjectReader r(d, path, "$.data");
            c.data.path = r.string("path", "");
            if (r.has("simulate")) c.data.simulate = r.at("simulate");
            if (c.data.path.empty() == !c.data.simulate) r.fail("give exactly one of 'path' and 'simulate'");
            c.data.label_key = r.string("label_key", c.data.label_key);
            c.data.donor_key = r.string("donor_key", c.data.donor_key);
            if (r.has("tissue_key")) c.data.tissue_key = r.string("tissue_key", "");
            c.data.layer = r.string("layer", "");
            c.data.gene_column = r.string("gene_column", "");
            c.data.raw = r.boolean("raw", false);
            r.finish();
        }
    }
    c.ruler = top.string("ruler", c.ruler);
    if (top.has("panel")) {
        ObjectReader r(top.at("panel"), path, "$.panel");
        if (r.has("from_operator")) c.panel_from = r.string("from_operator", "");
        c.panel_size = r.integer("size", c.panel_size);
        if (c.panel_size < 2) r.fail("'size' must be at least 2");
        r.finish();
    }
    if (top.has("splits")) {
        ObjectReader r(top.at("splits"), path, "$.splits");
        auto& s = c.options.splits;
        s.n_splits = r.integer("n", s.n_splits);
        s.test_donors = r.integer("test_donors", s.test_donors);
        s.max_train_cells = r.integer("max_train_cells", s.max_train_cells);
        s.seed = static_cast<std::uint64_t>(r.integer("seed", static_cast<std::int64_t>(s.seed)));
        if (s.n_splits < 1) r.fail("'n' must be at least 1");
        if (s.test_donors < 0) r.fail("'test_donors' must be positive (or 0 for 20% of the donors)");
        if (s.max_train_cells < 1) r.fail("'max_train_cells' must be positive");
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
    c.options.endpoint_options.min_donor_cells = top.integer("min_donor_cells", c.options.endpoint_options.min_donor_cells);
    c.options.figure_points = top.integer("figure_points", c.options.figure_points);
    if (!top.has("methods") || !top.at("methods").is_array() || top.at("methods").empty())
        top.fail("'methods' must be a non-empty list");
    const bool ladder = top.boolean("ladder", false);
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

std::unique_ptr<BenchMethod> make_method(const BenchConfig& config, const BenchMethodSpec& spec, const std::string& where,
                                         const BenchCells& cells, OperatorCache& operators) {
    const auto operator_set = [&](const std::string& file) -> const OperatorSet& { return operators.get(file); };
    ObjectReader r(spec.params, config.path, where);
    if (spec.type == "algorithm") {
        const auto op = r.string("operator", "");
        if (op.empty()) r.fail("'operator' is required: an operator file from `scextract export`, or \"identity\"");
        const auto control = r.string("control", "none");
        const auto ladder = algorithm_ladder_options(r);
        AlgorithmFitOptions fit;
        if (r.has("adaptor") && ladder.bottleneck != LadderBottleneck::adaptor)
            r.fail("'adaptor' chooses the Stage 2 variant; it cannot differ with 'bottleneck' none or pca");
        const auto variant = r.string("adaptor", std::string(adaptor_variant_name(fit.adaptor.variant)));
        if (variant != "anchor" && variant != "cell" && variant != "hybrid") r.fail("'adaptor' must be anchor, cell or hybrid");
        fit.adaptor = adaptor_options(parse_adaptor_variant(variant));
        fit.adaptor.seed = static_cast<std::uint64_t>(r.integer("seed", static_cast<std::int64_t>(fit.adaptor.seed)));
        FeatureOperator features;
        std::string description;
        if (op == "identity") {
            if (control != "none") r.fail("'control' applies to an operator file, not to \"identity\"");
            if (r.has("orientation")) r.fail("'orientation' cannot differ for the identity operator (I^T = I)");
            features = identity_operator(cells.panel);
            description = "Stage 2/3 on the panel expression itself (A = I control)";
        } else {
            FeatureSpec fs;
            fs.variant = r.string("features", fs.variant);
            const auto head = parse_weighted_heads(r.string("head", "2:5"));
            if (head.size() != 1) r.fail("'head' takes one layer:head");
            fs.layer = head[0].layer;
            fs.head = head[0].head;
            if (r.has("heads")) fs.heads = parse_weighted_heads(r.string("heads", ""));
            fs.rank = r.integer("rank", fs.rank);
            fs.n_factors = r.integer("factors", fs.n_factors);
            fs.top_genes = r.integer("top_genes", fs.top_genes);
            const auto orientation = r.string("orientation", "xA");
            if (orientation != "xA" && orientation != "xAT") r.fail("'orientation' must be xA (x A) or xAT (x A^T)");
            fs.orientation = parse_orientation(orientation);
            features = build_feature_operator(operator_set(op), fs);
            description = fmt::format("extracted algorithm: {} ({})", features.description, op);
            if (control == "matched_spectrum") {
                features = matched_spectrum_operator(features, static_cast<std::uint64_t>(r.integer("control_seed", 7)));
                description = "Stage 2/3 on a random operator with the same singular values (control): " + features.description;
            } else if (control == "gene_permuted") {
                features = gene_permuted_operator(features, static_cast<std::uint64_t>(r.integer("control_seed", 7)));
                description = "Stage 2/3 on the operator with its genes shuffled (control): " + features.description;
            } else if (control != "none") {
                r.fail("'control' must be none, matched_spectrum or gene_permuted");
            }
        }
        r.finish();
        if (!ladder.exported())
            description += fmt::format(" [ladder rung: bottleneck {}, latent {}, readouts {}]", ladder_bottleneck_name(ladder.bottleneck),
                                       ladder_latent_name(ladder.latent), ladder_readout_name(ladder.readout));
        return std::make_unique<AlgorithmMethod>(spec.name, description, std::move(features), fit, ladder);
    } else if (spec.type == "raw") {
        RawExpressionOptions o;
        o.name = spec.name;
        r.finish();
        return std::make_unique<RawExpressionMethod>(o);
    } else if (spec.type == "pca" || spec.type == "svd") {
        PcaMethodOptions o;
        o.name = spec.name;
        o.projection.n_components = r.integer("components", 10);
        if (o.projection.n_components < 1) r.fail("'components' must be positive");
        o.projection.center = spec.type == "pca";
        r.finish();
        return std::make_unique<PcaMethod>(o);
    } else if (spec.type == "celltypist") {
        CellTypistMethodOptions o;
        o.name = spec.name;
        o.celltypist.C = r.number("C", o.celltypist.C);
        r.finish();
        return std::make_unique<CellTypistMethod>(o);
    } else if (spec.type == "dpt") {
        DptMethodOptions o;
        o.name = spec.name;
        auto& d = o.dpt;
        d.n_pcs = r.integer("n_pcs", d.n_pcs);
        d.knn.n_neighbors = r.integer("n_neighbors", d.knn.n_neighbors);
        d.diffmap.n_components = r.integer("n_comps", d.diffmap.n_components);
        d.dpt.n_dcs = r.integer("n_dcs", d.dpt.n_dcs);
        o.min_cells = r.integer("min_cells", o.min_cells);
        const auto kernel = r.string("method", "umap");
        if (kernel != "umap" && kernel != "gauss") r.fail("'method' must be umap or gauss");
        d.kernel = kernel == "umap" ? ConnectivityKernel::umap : ConnectivityKernel::gauss;
        if (d.n_pcs < 2 || d.knn.n_neighbors < 2 || d.diffmap.n_components < 3 || d.dpt.n_dcs < 1)
            r.fail("'n_pcs' and 'n_neighbors' must be at least 2, 'n_comps' at least 3, 'n_dcs' at least 1");
        r.finish();
        return std::make_unique<DptMethod>(o);
    } else if (spec.type == "palantir") {
        PalantirMethodOptions o;
        o.name = spec.name;
        auto& pl = o.palantir;
        pl.n_pcs = r.integer("n_pcs", pl.n_pcs);
        pl.kernel_knn = r.integer("knn", pl.kernel_knn);
        pl.pseudotime.knn = pl.kernel_knn;
        pl.n_components = r.integer("n_components", pl.n_components);
        pl.num_waypoints = r.integer("num_waypoints", pl.num_waypoints);
        pl.pseudotime.max_iterations = r.integer("max_iterations", pl.pseudotime.max_iterations);
        pl.seed = static_cast<std::uint64_t>(r.integer("seed", static_cast<std::int64_t>(pl.seed)));
        o.min_cells = r.integer("min_cells", o.min_cells);
        if (pl.n_pcs < 2 || pl.kernel_knn < 4 || pl.n_components < 3 || pl.num_waypoints < 3 || pl.pseudotime.max_iterations < 1)
            r.fail("'n_pcs' must be at least 2, 'knn' 4, 'n_components' and 'num_waypoints' 3, 'max_iterations' 1");
        r.finish();
        return std::make_unique<PalantirMethod>(o);
    } else if (spec.type == "mlp_probe") {
        MlpProbeMethodOptions o;
        o.name = spec.name;
        o.model = r.string("model", "");
        if (o.model.empty()) r.fail("'model' is required: an scGPT checkpoint directory");
        o.model = bench_config_path(config, o.model);
        if (r.has("hidden")) {
            const auto& h = r.at("hidden");
            if (!h.is_array() || h.size() != 2 || !h[0].is_number_integer() || !h[1].is_number_integer() ||
                h[0].get<std::int64_t>() < 1 || h[1].get<std::int64_t>() < 1)
                r.fail("'hidden' must be two positive widths (a 3-layer probe)");
            o.probe.hidden = h.get<std::vector<std::int64_t>>();
        }
        o.probe.epochs = r.integer("epochs", o.probe.epochs);
        o.probe.batch_size = r.integer("batch_size", o.probe.batch_size);
        o.probe.learning_rate = r.number("learning_rate", o.probe.learning_rate);
        o.probe.seed = static_cast<std::uint64_t>(r.integer("seed", static_cast<std::int64_t>(o.probe.seed)));
        o.embed.max_tokens = r.integer("max_tokens", o.embed.max_tokens);
        if (o.probe.epochs < 1 || o.probe.batch_size < 1 || !(o.probe.learning_rate > 0.0) || o.embed.max_tokens < 2)
            r.fail("'epochs', 'batch_size' and 'learning_rate' must be positive, 'max_tokens' at least 2");
        r.finish();
        return std::make_unique<MlpProbeMethod>(o);
    } else if (spec.type == "scvi") {
        ScviMethodOptions o;
        o.name = spec.name;
        auto& v = o.scvi;
        v.n_latent = r.integer("n_latent", v.n_latent);
        v.n_hidden = r.integer("n_hidden", v.n_hidden);
        v.max_epochs = r.integer("max_epochs", v.max_epochs);
        v.batch_size = r.integer("batch_size", v.batch_size);
        v.seed = static_cast<std::uint64_t>(r.integer("seed", static_cast<std::int64_t>(v.seed)));
        o.min_cells = r.integer("min_cells", o.min_cells);
        if (v.n_latent < 1 || v.n_hidden < 1 || v.max_epochs < 0 || v.batch_size < 2)
            r.fail("'n_latent' and 'n_hidden' must be positive, 'max_epochs' at least 0 (0: scvi-tools' heuristic), "
                   "'batch_size' at least 2");
        r.finish();
        return std::make_unique<ScviMethod>(o);
    }
    if (spec.type == "select") {
        // Candidates are methods of their own, each named; the held-out donors never choose.
        if (!r.has("candidates") || !r.at("candidates").is_array() || r.at("candidates").size() < 2)
            r.fail("'candidates' must list at least two methods to choose from");
        NestedSelectionOptions o;
        o.folds = r.integer("folds", o.folds);
        if (o.folds < 2) r.fail("'folds' must be at least 2");
        o.seed = static_cast<std::uint64_t>(r.integer("seed", static_cast<std::int64_t>(o.seed)));
        if (r.has("endpoints")) {
            const auto& e = r.at("endpoints");
            if (!e.is_array() || std::any_of(e.begin(), e.end(), [](const auto& x) { return !x.is_string(); }))
                r.fail("'endpoints' must be a list of endpoint names");
            o.endpoints = e.get<std::vector<std::string>>();
            (void)select_endpoints(cells, o.endpoints); // an unknown name fails now, not after the first fold
        }
        std::vector<std::unique_ptr<BenchMethod>> candidates;
        const auto& list = r.at("candidates");
        for (std::size_t k = 0; k < list.size(); ++k) {
            const auto cwhere = fmt::format("{}.candidates[{}]", where, k);
            if (!list[k].is_object() || !list[k].contains("type") || !list[k]["type"].is_string())
                throw Error(fmt::format("{}: {}: must be a method object with a 'type'", config.path, cwhere));
            BenchMethodSpec c{list[k]["type"].get<std::string>(), list[k].value("name", list[k]["type"].get<std::string>()), list[k]};
            if (c.type == "select" || !is_method_type(c.type))
                throw Error(fmt::format("{}: {}: unknown candidate type '{}' ({}; not select)", config.path, cwhere, c.type,
                                        method_type_list()));
            c.params.erase("type");
            c.params.erase("name");
            candidates.push_back(make_method(config, c, cwhere + " ('" + c.name + "')", cells, operators));
        }
        r.finish();
        return std::make_unique<NestedSelectionMethod>(spec.name, std::move(candidates), o);
    }
    throw Error(fmt::format("{}: {}: unknown method type '{}' ({})", config.path, where, spec.type, method_type_list()));
}

} // namespace

std::vector<std::unique_ptr<BenchMethod>> make_bench_methods(const BenchConfig& config, const BenchCells& cells) {
    OperatorCache operators(config);
    std::vector<std::unique_ptr<BenchMethod>> out;
    for (std::size_t i = 0; i < config.methods.size(); ++i) {
        const auto& spec = config.methods[i];
        out.push_back(make_method(config, spec, fmt::format("$.methods[{}] ('{}')", i, spec.name), cells, operators));
    }
    return out;
}

} // namespace scx
