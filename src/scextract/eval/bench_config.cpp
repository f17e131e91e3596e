#include "scextract/eval/bench_config.hpp"

#include "scextract/core/error.hpp"
#include "scextract/eval/algorithm_method.hpp"
#include "scextract/eval/celltypist_method.hpp"
#include "scextract/eval/dpt_method.hpp"
#include "scextract/eval/mlp_probe_method.hpp"
#include "scextract/eval/palantir_method.hpp"
#include "scextract/eval/scvi_method.hpp"
#include "scextract/eval/pca_method.hpp"
#include "scextract/eval/raw_expression_method.hpp"
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

constexpr std::array<std::string_view, 9> kMethodTypes = {"algorithm", "raw", "pca", "svd", "celltypist",
                                                         "dpt", "palantir", "mlp_probe", "scvi"};

bool is_method_type(const std::string& type) {
    return std::find(kMethodTypes.begin(), kMethodTypes.end(), type) != kMethodTypes.end();
}

/// "one of algorithm, raw, ...", for error messages.
std::string method_type_list() { return fmt::format("one of {}", fmt::join(kMethodTypes, ", ")); }

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
    const auto& methods = top.at("methods");
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
        m.params.erase("type");
        m.params.erase("name");
        c.methods.push_back(std::move(m));
    }
    top.finish();
    return c;
}

std::vector<std::unique_ptr<BenchMethod>> make_bench_methods(const BenchConfig& config, const BenchCells& cells) {
    std::map<std::string, OperatorSet> operators;
    const auto operator_set = [&](const std::string& file) -> const OperatorSet& {
        const auto full = bench_config_path(config, file);
        auto it = operators.find(full);
        if (it == operators.end()) it = operators.emplace(full, read_operator_file(full)).first;
        return it->second;
    };
    std::vector<std::unique_ptr<BenchMethod>> out;
    for (std::size_t i = 0; i < config.methods.size(); ++i) {
        const auto& spec = config.methods[i];
        ObjectReader r(spec.params, config.path, fmt::format("$.methods[{}] ('{}')", i, spec.name));
        if (spec.type == "algorithm") {
            const auto op = r.string("operator", "");
            if (op.empty()) r.fail("'operator' is required: an operator file from `scextract export`, or \"identity\"");
            const auto control = r.string("control", "none");
            AlgorithmFitOptions fit;
            const auto variant = r.string("adaptor", "anchor");
            if (variant != "anchor" && variant != "cell" && variant != "hybrid") r.fail("'adaptor' must be anchor, cell or hybrid");
            fit.adaptor = adaptor_options(variant == "anchor" ? AdaptorVariant::anchor
                                          : variant == "cell" ? AdaptorVariant::cell
                                                              : AdaptorVariant::hybrid);
            fit.adaptor.seed = static_cast<std::uint64_t>(r.integer("seed", static_cast<std::int64_t>(fit.adaptor.seed)));
            FeatureOperator features;
            std::string description;
            if (op == "identity") {
                if (control != "none") r.fail("'control' applies to an operator file, not to \"identity\"");
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
                fs.orientation = parse_orientation(r.string("orientation", "xA"));
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
            out.push_back(std::make_unique<AlgorithmMethod>(spec.name, description, std::move(features), fit));
        } else if (spec.type == "raw") {
            RawExpressionOptions o;
            o.name = spec.name;
            r.finish();
            out.push_back(std::make_unique<RawExpressionMethod>(o));
        } else if (spec.type == "pca" || spec.type == "svd") {
            PcaMethodOptions o;
            o.name = spec.name;
            o.projection.n_components = r.integer("components", 10);
            if (o.projection.n_components < 1) r.fail("'components' must be positive");
            o.projection.center = spec.type == "pca";
            r.finish();
            out.push_back(std::make_unique<PcaMethod>(o));
        } else if (spec.type == "celltypist") {
            CellTypistMethodOptions o;
            o.name = spec.name;
            o.celltypist.C = r.number("C", o.celltypist.C);
            r.finish();
            out.push_back(std::make_unique<CellTypistMethod>(o));
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
            out.push_back(std::make_unique<DptMethod>(o));
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
            out.push_back(std::make_unique<PalantirMethod>(o));
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
            out.push_back(std::make_unique<MlpProbeMethod>(o));
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
            out.push_back(std::make_unique<ScviMethod>(o));
        }
    }
    return out;
}

} // namespace scx
