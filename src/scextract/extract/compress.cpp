#include "scextract/extract/compress.hpp"

#include "scextract/core/error.hpp"

#include <Eigen/SVD>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include <fmt/format.h>

namespace scx {

Orientation parse_orientation(const std::string& text) {
    if (text == "xA") return Orientation::xA;
    if (text == "xAT") return Orientation::xAT;
    throw UsageError(fmt::format("orientation must be xA or xAT, got '{}'", text));
}

std::string orientation_name(Orientation o) { return o == Orientation::xA ? "xA" : "xAT"; }

namespace {

void check_head(const OperatorSet& ops, std::int64_t layer, std::int64_t head) {
    if (layer < 0 || layer >= ops.n_layers || head < 0 || head >= ops.n_heads)
        throw Error(fmt::format("head L{}H{} is outside the operators' {} layers x {} heads", layer, head, ops.n_layers,
                                ops.n_heads));
}

/// A dense block from an accumulated G x G operator, in the requested orientation.
FeatureBlock dense_block(std::string name, const Eigen::MatrixXd& a, Orientation o) {
    FeatureBlock b;
    b.name = std::move(name);
    b.form = FeatureBlock::Form::dense;
    b.dense = (o == Orientation::xA ? a : Eigen::MatrixXd(a.transpose())).cast<float>();
    return b;
}

FeatureOperator with_panel(const OperatorSet& ops, Orientation o, std::string description) {
    FeatureOperator f;
    f.genes = ops.genes;
    f.orientation = orientation_name(o);
    f.description = std::move(description);
    return f;
}

/// Mean over every head of layers [first, last) in double (fixed summation order).
Eigen::MatrixXd mean_of_layers(const OperatorSet& ops, std::int64_t first, std::int64_t last) {
    const auto g = static_cast<Eigen::Index>(ops.genes.size());
    Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(g, g);
    for (std::int64_t l = first; l < last; ++l)
        for (std::int64_t h = 0; h < ops.n_heads; ++h) sum += ops.op(l, h).cast<double>();
    return sum / static_cast<double>((last - first) * ops.n_heads);
}

/// Sign-fixed thin SVD of a dense block.
struct Svd {
    Eigen::MatrixXd u, v;
    Eigen::VectorXd s;
};

Svd svd_of(const RowMatrixF& m) {
    Eigen::BDCSVD<Eigen::MatrixXd> svd(m.cast<double>(), Eigen::ComputeThinU | Eigen::ComputeThinV);
    Svd out{svd.matrixU(), svd.matrixV(), svd.singularValues()};
    for (Eigen::Index k = 0; k < out.u.cols(); ++k) {
        Eigen::Index at = 0;
        out.u.col(k).cwiseAbs().maxCoeff(&at);
        if (out.u(at, k) < 0) {
            out.u.col(k) *= -1.0;
            out.v.col(k) *= -1.0;
        }
    }
    return out;
}

/// Positions of the @p k largest |v| entries, in increasing position order (ties by position).
std::vector<std::int32_t> top_positions(const Eigen::VectorXd& v, std::int64_t k) {
    std::vector<std::int32_t> idx(static_cast<std::size_t>(v.size()));
    std::iota(idx.begin(), idx.end(), 0);
    const auto keep = static_cast<std::size_t>(std::min<std::int64_t>(k, v.size()));
    std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(keep), idx.end(), [&](auto a, auto b) {
        const double x = std::abs(v(a)), y = std::abs(v(b));
        return x != y ? x > y : a < b;
    });
    idx.resize(keep);
    std::sort(idx.begin(), idx.end());
    return idx;
}

const RowMatrixF& require_dense(const FeatureBlock& b) {
    if (b.form != FeatureBlock::Form::dense)
        throw Error(fmt::format("feature block '{}' is already compressed; compress the dense operator", b.name));
    return b.dense;
}

} // namespace

std::vector<std::pair<std::int64_t, std::int64_t>> drift_layer_blocks(std::int64_t n_layers) {
    if (n_layers < 3) throw Error(fmt::format("the drift operator needs at least 3 layers, the model has {}", n_layers));
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    for (std::int64_t k = 0; k < 3; ++k) out.emplace_back(k * n_layers / 3, (k + 1) * n_layers / 3);
    return out;
}

FeatureOperator pooled_drift_operator(const OperatorSet& ops, Orientation o) {
    const auto blocks = drift_layer_blocks(ops.n_layers);
    const auto early = mean_of_layers(ops, blocks[0].first, blocks[0].second);
    const auto mid = mean_of_layers(ops, blocks[1].first, blocks[1].second);
    const auto late = mean_of_layers(ops, blocks[2].first, blocks[2].second);
    auto f = with_panel(ops, o,
                        fmt::format("pooled drift: layers {}-{} / {}-{} / {}-{}, every head", blocks[0].first,
                                    blocks[0].second - 1, blocks[1].first, blocks[1].second - 1, blocks[2].first,
                                    blocks[2].second - 1));
    f.blocks.push_back(dense_block("early-mid", early - mid, o));
    f.blocks.push_back(dense_block("mid-late", mid - late, o));
    return f;
}

FeatureOperator single_head_operator(const OperatorSet& ops, std::int64_t layer, std::int64_t head, Orientation o) {
    check_head(ops, layer, head);
    auto f = with_panel(ops, o, fmt::format("single head L{}H{}", layer, head));
    f.blocks.push_back(dense_block(fmt::format("L{}H{}", layer, head), ops.op(layer, head).cast<double>(), o));
    return f;
}

FeatureOperator weighted_heads_operator(const OperatorSet& ops, const std::vector<WeightedHead>& heads, Orientation o) {
    if (heads.empty()) throw Error("weighted heads: no head given");
    const auto g = static_cast<Eigen::Index>(ops.genes.size());
    Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(g, g);
    double total = 0;
    std::string names;
    for (const auto& h : heads) {
        check_head(ops, h.layer, h.head);
        if (!(h.weight > 0)) throw Error(fmt::format("weighted heads: L{}H{} has weight {}, must be > 0", h.layer, h.head, h.weight));
        sum += h.weight * ops.op(h.layer, h.head).cast<double>();
        total += h.weight;
        names += fmt::format("{}L{}H{}:{:.4g}", names.empty() ? "" : ",", h.layer, h.head, h.weight);
    }
    auto f = with_panel(ops, o, fmt::format("top-{} weighted heads {}", heads.size(), names));
    f.blocks.push_back(dense_block(fmt::format("top-{} heads", heads.size()), sum / total, o));
    return f;
}

FeatureOperator low_rank_operator(const FeatureOperator& op, std::int64_t rank) {
    if (rank < 1) throw Error(fmt::format("rank must be >= 1, got {}", rank));
    FeatureOperator out = op;
    out.blocks.clear();
    out.description = fmt::format("{}; rank-{} SVD surrogate", op.description, rank);
    for (const auto& b : op.blocks) {
        const auto& m = require_dense(b);
        const auto svd = svd_of(m);
        const auto r = static_cast<Eigen::Index>(std::min<std::int64_t>(rank, svd.s.size()));
        FeatureBlock lr;
        lr.name = fmt::format("{} rank {}", b.name, r);
        lr.form = FeatureBlock::Form::low_rank;
        lr.left = (svd.u.leftCols(r) * svd.s.head(r).asDiagonal()).cast<float>();
        lr.right = svd.v.leftCols(r).transpose().cast<float>();
        out.blocks.push_back(std::move(lr));
    }
    return out;
}

FeatureOperator hard_sparse_operator(const FeatureOperator& op, std::int64_t n_factors, std::int64_t top_read,
                                     std::int64_t top_write) {
    if (n_factors < 1 || top_read < 1 || top_write < 1)
        throw Error("hard-sparse: factors and read / write genes must be >= 1");
    FeatureOperator out = op;
    out.blocks.clear();
    out.description = fmt::format("{}; hard-sparse {} factors x top-{} read / top-{} write genes", op.description,
                                  n_factors, top_read, top_write);
    for (const auto& b : op.blocks) {
        const auto svd = svd_of(require_dense(b));
        FeatureBlock sp;
        sp.name = fmt::format("{} sparse {}x{}", b.name, n_factors, top_read);
        sp.form = FeatureBlock::Form::sparse_factors;
        const auto r = std::min<std::int64_t>(n_factors, svd.s.size());
        for (std::int64_t k = 0; k < r; ++k) {
            SparseFactor f;
            f.scale = static_cast<float>(svd.s(k));
            const Eigen::VectorXd u = svd.u.col(k), v = svd.v.col(k);
            f.read_genes = top_positions(u, top_read);
            for (auto i : f.read_genes) f.read_weights.push_back(static_cast<float>(u(i)));
            f.write_genes = top_positions(v, top_write);
            for (auto i : f.write_genes) f.write_weights.push_back(static_cast<float>(v(i)));
            sp.factors.push_back(std::move(f));
        }
        out.blocks.push_back(std::move(sp));
    }
    return out;
}

FeatureOperator build_feature_operator(const OperatorSet& ops, const FeatureSpec& spec) {
    const auto& v = spec.variant;
    if (v == "drift") return pooled_drift_operator(ops, spec.orientation);
    if (v == "head") return single_head_operator(ops, spec.layer, spec.head, spec.orientation);
    if (v == "topk") return weighted_heads_operator(ops, spec.heads, spec.orientation);
    if (v == "rank") return low_rank_operator(single_head_operator(ops, spec.layer, spec.head, spec.orientation), spec.rank);
    if (v == "sparse")
        return hard_sparse_operator(single_head_operator(ops, spec.layer, spec.head, spec.orientation), spec.n_factors,
                                    spec.top_genes, spec.top_genes);
    throw UsageError(fmt::format("unknown feature variant '{}' (drift, head, topk, rank, sparse)", v));
}

std::vector<WeightedHead> parse_weighted_heads(const std::string& text) {
    std::vector<WeightedHead> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto end = std::min(text.find(',', start), text.size());
        const std::string item = text.substr(start, end - start);
        WeightedHead h;
        double w = 1.0;
        long long l = -1, hd = -1;
        char extra = 0;
        const int n = std::sscanf(item.c_str(), "%lld:%lld:%lf%c", &l, &hd, &w, &extra);
        if ((n != 2 && n != 3) || l < 0 || hd < 0)
            throw UsageError(fmt::format("'{}' is not layer:head or layer:head:weight (0-based, e.g. 2:5)", item));
        h.layer = l;
        h.head = hd;
        h.weight = n == 3 ? w : 1.0;
        out.push_back(h);
        start = end + 1;
    }
    return out;
}

std::vector<double> relative_errors(const FeatureOperator& exact, const FeatureOperator& approx) {
    if (exact.blocks.size() != approx.blocks.size() || exact.n_genes() != approx.n_genes())
        throw Error("relative_errors: the operators have different shapes");
    // the approximation's matrix, recovered by applying it to the identity
    const auto g = exact.n_genes();
    const RowMatrixF eye = RowMatrixF::Identity(g, g);
    const RowMatrixF m = approx.apply(eye);
    std::vector<double> out;
    for (std::size_t k = 0; k < exact.blocks.size(); ++k) {
        const auto& e = require_dense(exact.blocks[k]);
        const auto a = m.middleCols(static_cast<Eigen::Index>(k) * g, g);
        const double denom = e.cast<double>().norm();
        out.push_back(denom > 0 ? (e.cast<double>() - a.cast<double>()).norm() / denom : 0.0);
    }
    return out;
}

} // namespace scx
