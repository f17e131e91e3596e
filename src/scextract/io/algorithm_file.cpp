#include "scextract/io/algorithm_file.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/scx_container.hpp"
#include "scextract/io/json_parse.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <unordered_set>

#include <fmt/format.h>

namespace scx {

namespace {

constexpr const char* kKind = "algorithm";
constexpr int kAlgorithmVersion = 1;

std::string form_name(FeatureBlock::Form f) {
    switch (f) {
    case FeatureBlock::Form::dense: return "dense";
    case FeatureBlock::Form::low_rank: return "low_rank";
    case FeatureBlock::Form::sparse_factors: return "sparse_factors";
    }
    return "dense";
}

FeatureBlock::Form parse_form(const std::string& s, const std::string& what) {
    if (s == "dense") return FeatureBlock::Form::dense;
    if (s == "low_rank") return FeatureBlock::Form::low_rank;
    if (s == "sparse_factors") return FeatureBlock::Form::sparse_factors;
    throw Error(fmt::format("{}: unknown feature block form '{}'", what, s));
}

std::span<const float> span_of(const RowMatrixF& m) { return {m.data(), static_cast<std::size_t>(m.size())}; }
std::span<const float> span_of(const Eigen::VectorXf& v) { return {v.data(), static_cast<std::size_t>(v.size())}; }

/// Storage that outlives the views write_scx_container() reads.
struct SparseBuffers {
    std::vector<std::int32_t> genes;
    std::vector<float> weights;
    std::vector<std::int64_t> layout; // per factor: n_read, n_write
    std::vector<float> scales;
};

void check_algorithm_values(const Algorithm& a);
void check_ood(const AlgorithmOodBounds& ood);

} // namespace

void write_algorithm_file(const Algorithm& a, const std::string& path) {
    const auto& f = a.features;
    const auto d = f.n_features(), k = a.latent_dim();
    if (a.feature_mean.size() != d || a.feature_sd.size() != d || a.adaptor_W.cols() != d || a.adaptor_b.size() != d)
        throw Error(fmt::format("{}: the standardiser and adaptor do not match the {} features", path, d));
    // the reader's checks, before anything is written: no file leaves here that apply would refuse
    try {
        check_algorithm_values(a);
        if (a.ood.available()) check_ood(a.ood);
        (void)f.apply(RowMatrixF::Zero(1, f.n_genes())); // every block fits the panel
    } catch (const Error& e) {
        throw Error(fmt::format("{}: {}", path, e.what()));
    }
    nlohmann::ordered_json meta;
    meta["algorithm_version"] = kAlgorithmVersion;
    meta["panel"] = f.genes;
    meta["orientation"] = f.orientation;
    meta["feature_description"] = f.description;
    meta["target_sum"] = a.target_sum;
    meta["latent_dim"] = k;
    meta["adaptor_beta"] = a.adaptor_beta;
    std::vector<ContainerArrayView> arrays;
    std::vector<SparseBuffers> sparse(f.blocks.size());
    auto& blocks = meta["blocks"] = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < f.blocks.size(); ++i) {
        const auto& b = f.blocks[i];
        blocks.push_back({{"name", b.name}, {"form", form_name(b.form)}});
        const auto p = fmt::format("block{}.", i);
        switch (b.form) {
        case FeatureBlock::Form::dense: arrays.push_back(ContainerArrayView::f32(p + "dense", {b.dense.rows(), b.dense.cols()}, span_of(b.dense))); break;
        case FeatureBlock::Form::low_rank:
            arrays.push_back(ContainerArrayView::f32(p + "left", {b.left.rows(), b.left.cols()}, span_of(b.left)));
            arrays.push_back(ContainerArrayView::f32(p + "right", {b.right.rows(), b.right.cols()}, span_of(b.right)));
            break;
        case FeatureBlock::Form::sparse_factors: {
            auto& s = sparse[i];
            for (const auto& fa : b.factors) {
                s.layout.push_back(static_cast<std::int64_t>(fa.read_genes.size()));
                s.layout.push_back(static_cast<std::int64_t>(fa.write_genes.size()));
                s.scales.push_back(fa.scale);
                s.genes.insert(s.genes.end(), fa.read_genes.begin(), fa.read_genes.end());
                s.genes.insert(s.genes.end(), fa.write_genes.begin(), fa.write_genes.end());
                s.weights.insert(s.weights.end(), fa.read_weights.begin(), fa.read_weights.end());
                s.weights.insert(s.weights.end(), fa.write_weights.begin(), fa.write_weights.end());
            }
            const auto nf = static_cast<std::int64_t>(b.factors.size());
            arrays.push_back(ContainerArrayView::i64(p + "layout", {nf, 2}, s.layout));
            arrays.push_back(ContainerArrayView::f32(p + "scales", {nf}, s.scales));
            arrays.push_back(ContainerArrayView::i32(p + "genes", {static_cast<std::int64_t>(s.genes.size())}, s.genes));
            arrays.push_back(ContainerArrayView::f32(p + "weights", {static_cast<std::int64_t>(s.weights.size())}, s.weights));
            break;
        }
        }
    }
    arrays.push_back(ContainerArrayView::f32("feature_mean", {d}, span_of(a.feature_mean)));
    arrays.push_back(ContainerArrayView::f32("feature_sd", {d}, span_of(a.feature_sd)));
    arrays.push_back(ContainerArrayView::f32("adaptor_W", {k, d}, span_of(a.adaptor_W)));
    arrays.push_back(ContainerArrayView::f32("adaptor_b", {d}, span_of(a.adaptor_b)));
    auto& readouts = meta["readouts"] = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < a.readouts.size(); ++i) {
        const auto& r = a.readouts[i];
        if (r.W.cols() != k || r.b.size() != r.W.rows())
            throw Error(fmt::format("{}: readout '{}' does not match the {}-D latent", path, r.task, k));
        readouts.push_back({{"task", r.task}, {"kind", r.kind}, {"classes", r.classes}, {"parameters", r.parameter_count()}});
        arrays.push_back(ContainerArrayView::f32(fmt::format("readout{}.W", i), {r.W.rows(), k}, span_of(r.W)));
        arrays.push_back(ContainerArrayView::f32(fmt::format("readout{}.b", i), {r.b.size()}, span_of(r.b)));
    }
    meta["ruler"] = a.ruler_json.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json::parse(a.ruler_json);
    if (a.ood.available())
        meta["ood"] = {{"reconstruction_error_p99", a.ood.reconstruction_error_p99},
                       {"detected_fraction_p1", a.ood.detected_fraction_p1},
                       {"reconstruction_error_mean", a.ood.reconstruction_error_mean},
                       {"training_cells", a.ood.training_cells},
                       {"definition", "out of distribution: reconstruction error > reconstruction_error_p99, or "
                                      "detected panel-gene fraction < detected_fraction_p1 (training percentiles)"}};
    meta["provenance"] = a.provenance_json.empty() ? nlohmann::ordered_json::object()
                                                   : nlohmann::ordered_json::parse(a.provenance_json);
    write_scx_container(path, kKind, meta, arrays);
}

namespace {

RowMatrixF matrix(const ScxContainer& c, const std::string& name) {
    const auto& info = c.info(name);
    if (info.shape.size() != 2) throw Error(fmt::format("{}: array '{}' is not 2-D", c.path(), name));
    const auto data = c.array_f32(name);
    return Eigen::Map<const RowMatrixF>(data.data(), info.shape[0], info.shape[1]);
}

Eigen::VectorXf vector(const ScxContainer& c, const std::string& name, std::int64_t n) {
    const auto data = c.array_f32(name);
    if (static_cast<std::int64_t>(data.size()) != n)
        throw Error(fmt::format("{}: array '{}' has {} values, expected {}", c.path(), name, data.size(), n));
    return Eigen::Map<const Eigen::VectorXf>(data.data(), n);
}

} // namespace

namespace {

/// Throws naming @p what when an entry of @p m is NaN or infinite: a checksummed file can still
/// carry a bad value from a broken fit, and it would turn every cell's outputs into NaN.
template <class M> void require_finite(const M& m, const std::string& what) {
    for (Eigen::Index i = 0; i < m.size(); ++i)
        if (!std::isfinite(m.data()[i])) throw Error(fmt::format("{} holds a non-finite value ({}) at entry {}", what, m.data()[i], i));
}

/// What apply relies on beyond shapes: finite numbers, a positive standardiser, unique panel
/// genes and readouts of the kinds apply knows, each with as many classes as rows.
void check_algorithm_values(const Algorithm& a) {
    std::unordered_set<std::string> seen;
    for (const auto& g : a.features.genes)
        if (!seen.insert(g).second) throw Error(fmt::format("panel gene '{}' appears twice", g));
    for (const auto& b : a.features.blocks) {
        require_finite(b.dense, "block '" + b.name + "'");
        require_finite(b.left, "block '" + b.name + "' (left)");
        require_finite(b.right, "block '" + b.name + "' (right)");
        for (const auto& f : b.factors) {
            if (!std::isfinite(f.scale)) throw Error(fmt::format("block '{}' has a non-finite factor scale", b.name));
            require_finite(Eigen::Map<const Eigen::VectorXf>(f.read_weights.data(), static_cast<Eigen::Index>(f.read_weights.size())),
                           "block '" + b.name + "' (read weights)");
            require_finite(Eigen::Map<const Eigen::VectorXf>(f.write_weights.data(), static_cast<Eigen::Index>(f.write_weights.size())),
                           "block '" + b.name + "' (write weights)");
        }
    }
    require_finite(a.feature_mean, "feature_mean");
    require_finite(a.feature_sd, "feature_sd");
    for (Eigen::Index i = 0; i < a.feature_sd.size(); ++i)
        if (!(a.feature_sd(i) > 0)) throw Error(fmt::format("feature_sd[{}] is {} (a standard deviation must be positive)", i, a.feature_sd(i)));
    require_finite(a.adaptor_W, "adaptor_W");
    require_finite(a.adaptor_b, "adaptor_b");
    if (!std::isfinite(a.adaptor_beta)) throw Error("adaptor_beta is not finite");
    if (!std::isfinite(a.target_sum) || !(a.target_sum > 0)) throw Error(fmt::format("target_sum is {} (must be positive)", a.target_sum));
    std::unordered_set<std::string> tasks;
    for (const auto& r : a.readouts) {
        if (!tasks.insert(r.task).second) throw Error(fmt::format("readout task '{}' appears twice", r.task));
        std::unordered_set<std::string> classes;
        for (const auto& c : r.classes)
            if (!classes.insert(c).second)
                throw Error(fmt::format("readout '{}' names class '{}' twice (apply writes the classes as categories)", r.task, c));
        require_finite(r.W, "readout '" + r.task + "' W");
        require_finite(r.b, "readout '" + r.task + "' b");
        const auto rows = static_cast<std::size_t>(r.W.rows());
        if (r.kind == "regression" || r.kind == "binary") {
            if (rows != 1) throw Error(fmt::format("{} readout '{}' has {} rows (1 expected)", r.kind, r.task, rows));
            if (r.kind == "binary" && r.classes.size() != 2)
                throw Error(fmt::format("binary readout '{}' names {} classes (2 expected)", r.task, r.classes.size()));
        } else if (r.kind == "softmax") {
            if (r.classes.size() != rows)
                throw Error(fmt::format("softmax readout '{}' has {} rows for {} classes", r.task, rows, r.classes.size()));
        } else {
            throw Error(fmt::format("readout '{}' is of unknown kind '{}' (regression, softmax or binary)", r.task, r.kind));
        }
    }
}

void check_ood(const AlgorithmOodBounds& ood) {
    if (!std::isfinite(ood.reconstruction_error_p99) || !std::isfinite(ood.detected_fraction_p1) || ood.training_cells < 1)
        throw Error("the out-of-distribution bounds ('ood') are not finite or cover no cells");
}

} // namespace

Algorithm read_algorithm_file(const std::string& path) {
    ScxOpenOptions o;
    o.expected_kind = kKind;
    const ScxContainer c(path, o);
    const auto& meta = c.metadata();
    try {
        if (meta.at("algorithm_version").get<int>() != kAlgorithmVersion)
            throw Error(fmt::format("algorithm version {} is not supported (this scextract reads {})",
                                    json_excerpt_text(meta.at("algorithm_version")), kAlgorithmVersion));
        Algorithm a;
        a.features.genes = meta.at("panel").get<std::vector<std::string>>();
        a.features.orientation = meta.at("orientation").get<std::string>();
        a.features.description = meta.at("feature_description").get<std::string>();
        a.target_sum = meta.at("target_sum").get<double>();
        a.adaptor_beta = meta.at("adaptor_beta").get<double>();
        const auto& blocks = meta.at("blocks");
        for (std::size_t i = 0; i < blocks.size(); ++i) {
            FeatureBlock b;
            b.name = blocks[i].at("name").get<std::string>();
            b.form = parse_form(blocks[i].at("form").get<std::string>(), path);
            const auto p = fmt::format("block{}.", i);
            if (b.form == FeatureBlock::Form::dense) b.dense = matrix(c, p + "dense");
            if (b.form == FeatureBlock::Form::low_rank) {
                b.left = matrix(c, p + "left");
                b.right = matrix(c, p + "right");
            }
            if (b.form == FeatureBlock::Form::sparse_factors) {
                const auto layout = c.array_i64(p + "layout");
                const auto scales = c.array_f32(p + "scales");
                const auto genes = c.bytes(p + "genes");
                const auto weights = c.array_f32(p + "weights");
                if (c.info(p + "genes").dtype != ContainerDType::int32) throw Error(p + "genes is not int32");
                const auto* g = reinterpret_cast<const std::int32_t*>(genes.data());
                const std::size_t n_genes = genes.size() / sizeof(std::int32_t);
                std::size_t at = 0;
                for (std::size_t f = 0; f < scales.size(); ++f) {
                    SparseFactor fa;
                    fa.scale = scales[f];
                    const auto nr = static_cast<std::size_t>(layout[2 * f]), nw = static_cast<std::size_t>(layout[2 * f + 1]);
                    if (at + nr + nw > n_genes || at + nr + nw > weights.size())
                        throw Error(fmt::format("sparse factor {} of block {} runs past its arrays", f, i));
                    fa.read_genes.assign(g + at, g + at + nr);
                    fa.read_weights.assign(weights.begin() + at, weights.begin() + at + nr);
                    fa.write_genes.assign(g + at + nr, g + at + nr + nw);
                    fa.write_weights.assign(weights.begin() + at + nr, weights.begin() + at + nr + nw);
                    at += nr + nw;
                    b.factors.push_back(std::move(fa));
                }
            }
            a.features.blocks.push_back(std::move(b));
        }
        const auto d = a.features.n_features();
        a.feature_mean = vector(c, "feature_mean", d);
        a.feature_sd = vector(c, "feature_sd", d);
        a.adaptor_W = matrix(c, "adaptor_W");
        a.adaptor_b = vector(c, "adaptor_b", d);
        if (a.adaptor_W.cols() != d || a.adaptor_W.rows() != meta.at("latent_dim").get<std::int64_t>())
            throw Error(fmt::format("adaptor_W is {} x {}, expected latent_dim x {}", a.adaptor_W.rows(), a.adaptor_W.cols(), d));
        const auto& readouts = meta.at("readouts");
        for (std::size_t i = 0; i < readouts.size(); ++i) {
            AlgorithmReadout r;
            r.task = readouts[i].at("task").get<std::string>();
            r.kind = readouts[i].at("kind").get<std::string>();
            r.classes = readouts[i].at("classes").get<std::vector<std::string>>();
            r.W = matrix(c, fmt::format("readout{}.W", i));
            r.b = vector(c, fmt::format("readout{}.b", i), r.W.rows());
            if (r.W.cols() != a.latent_dim()) throw Error(fmt::format("readout '{}' does not match the latent", r.task));
            a.readouts.push_back(std::move(r));
        }
        check_algorithm_values(a);
        if (meta.contains("ruler") && !meta.at("ruler").is_null()) a.ruler_json = meta.at("ruler").dump();
        a.provenance_json = meta.value("provenance", nlohmann::ordered_json::object()).dump();
        // files written before issue 19 have no bounds: apply then reports OOD as unavailable
        if (meta.contains("ood")) {
            const auto& ood = meta.at("ood");
            a.ood.reconstruction_error_p99 = ood.at("reconstruction_error_p99").get<double>();
            a.ood.detected_fraction_p1 = ood.at("detected_fraction_p1").get<double>();
            a.ood.reconstruction_error_mean = ood.value("reconstruction_error_mean", std::nan(""));
            a.ood.training_cells = ood.at("training_cells").get<std::int64_t>();
            check_ood(a.ood);
        }
        // a last consistency check: every block must fit the panel
        const RowMatrixF probe = RowMatrixF::Zero(1, a.features.n_genes());
        (void)a.features.apply(probe);
        return a;
    } catch (const nlohmann::json::exception& e) {
        throw Error(fmt::format("{}: malformed algorithm metadata ({})", path, e.what()));
    } catch (const Error& e) {
        const std::string msg = e.what();
        if (msg.rfind(path, 0) == 0) throw;
        throw Error(fmt::format("{}: {}", path, msg));
    }
}

} // namespace scx
