#include "scextract/interpret/operator_factors.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

namespace scx {

std::string OperatorFactors::name(std::int64_t f) { return fmt::format("f{:02d}", f); }

namespace {

/// Largest |read| entry of every factor made positive (write flips with it, so s r w^T holds).
void fix_signs(RowMatrixD& read, RowMatrixD& write) {
    for (Eigen::Index f = 0; f < read.cols(); ++f) {
        Eigen::Index at = 0;
        read.col(f).cwiseAbs().maxCoeff(&at);
        if (read(at, f) < 0) {
            read.col(f) *= -1.0;
            write.col(f) *= -1.0;
        }
    }
}

/// SVD of L R (G x r times r x G) from the QR factors of L and R^T: only an r x r SVD.
void factor_low_rank(const FeatureBlock& b, OperatorFactors& out) {
    const Eigen::MatrixXd L = b.left.cast<double>(), Rt = b.right.transpose().cast<double>();
    const Eigen::HouseholderQR<Eigen::MatrixXd> ql(L), qr(Rt);
    const auto r = L.cols();
    const Eigen::MatrixXd Q1 = ql.householderQ() * Eigen::MatrixXd::Identity(L.rows(), r);
    const Eigen::MatrixXd Q2 = qr.householderQ() * Eigen::MatrixXd::Identity(Rt.rows(), r);
    const Eigen::MatrixXd R1 = ql.matrixQR().topRows(r).triangularView<Eigen::Upper>();
    const Eigen::MatrixXd R2 = qr.matrixQR().topRows(r).triangularView<Eigen::Upper>();
    const Eigen::JacobiSVD<Eigen::MatrixXd> svd(R1 * R2.transpose(), Eigen::ComputeFullU | Eigen::ComputeFullV);
    out.scale = svd.singularValues();
    out.read = Q1 * svd.matrixU();
    out.write = Q2 * svd.matrixV();
}

void factor_dense(const FeatureBlock& b, std::int64_t max_factors, OperatorFactors& out) {
    const Eigen::BDCSVD<Eigen::MatrixXd> svd(b.dense.cast<double>(), Eigen::ComputeThinU | Eigen::ComputeThinV);
    const auto r = std::min<Eigen::Index>(max_factors, svd.singularValues().size());
    out.scale = svd.singularValues().head(r);
    out.read = svd.matrixU().leftCols(r);
    out.write = svd.matrixV().leftCols(r);
    out.exact = r == svd.singularValues().size();
}

void factor_sparse(const FeatureBlock& b, std::int64_t g, OperatorFactors& out) {
    const auto r = static_cast<Eigen::Index>(b.factors.size());
    std::vector<Eigen::Index> order(static_cast<std::size_t>(r));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](auto x, auto y) { return b.factors[x].scale > b.factors[y].scale; });
    out.scale.resize(r);
    out.read = RowMatrixD::Zero(g, r);
    out.write = RowMatrixD::Zero(g, r);
    for (Eigen::Index f = 0; f < r; ++f) {
        const auto& sf = b.factors[static_cast<std::size_t>(order[static_cast<std::size_t>(f)])];
        out.scale(f) = sf.scale;
        for (std::size_t i = 0; i < sf.read_genes.size(); ++i) out.read(sf.read_genes[i], f) = sf.read_weights[i];
        for (std::size_t i = 0; i < sf.write_genes.size(); ++i) out.write(sf.write_genes[i], f) = sf.write_weights[i];
    }
}

} // namespace

OperatorFactors operator_factors(const FeatureOperator& op, const OperatorFactorsOptions& options) {
    if (op.blocks.size() != 1) {
        std::vector<std::string> names;
        for (const auto& b : op.blocks) names.push_back(b.name);
        throw Error(fmt::format("the algorithm's operator has {} feature blocks ({}); factors are read from a single head, "
                                "its rank-r surrogate or its hard-sparse factors (fit --features head|rank|sparse)",
                                op.blocks.size(), fmt::join(names, ", ")));
    }
    if (options.max_factors < 1) throw Error(fmt::format("factors: max_factors {} (need at least 1)", options.max_factors));
    const auto& b = op.blocks.front();
    OperatorFactors out;
    out.genes = op.genes;
    out.block_name = b.name;
    switch (b.form) {
    case FeatureBlock::Form::dense: out.form = "dense"; factor_dense(b, options.max_factors, out); break;
    case FeatureBlock::Form::low_rank: out.form = "low_rank"; factor_low_rank(b, out); break;
    case FeatureBlock::Form::sparse_factors: out.form = "sparse_factors"; factor_sparse(b, op.n_genes(), out); break;
    }
    fix_signs(out.read, out.write);
    return out;
}

std::vector<GeneLoading> top_loadings(const Eigen::VectorXd& v, const std::vector<std::string>& genes, std::int64_t n) {
    if (static_cast<std::size_t>(v.size()) != genes.size())
        throw Error(fmt::format("loadings: {} values for {} genes", v.size(), genes.size()));
    std::vector<std::int64_t> idx;
    for (Eigen::Index i = 0; i < v.size(); ++i)
        if (v(i) != 0.0) idx.push_back(i);
    const auto keep = static_cast<std::size_t>(std::clamp<std::int64_t>(n, 0, static_cast<std::int64_t>(idx.size())));
    std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(keep), idx.end(), [&](auto a, auto b) {
        const double x = std::abs(v(a)), y = std::abs(v(b));
        return x != y ? x > y : a < b;
    });
    std::vector<GeneLoading> out;
    for (std::size_t i = 0; i < keep; ++i) out.push_back({genes[static_cast<std::size_t>(idx[i])], idx[i], v(idx[i])});
    return out;
}

RowMatrixF removed_factor_features(const OperatorFactors& factors, const RowMatrixF& x, const std::vector<bool>& keep,
                                   int threads) {
    const auto g = static_cast<Eigen::Index>(factors.genes.size());
    if (x.cols() != g) throw Error(fmt::format("factors: expression of {} genes for a panel of {}", x.cols(), g));
    if (static_cast<std::int64_t>(keep.size()) != factors.size())
        throw Error(fmt::format("factors: keep mask of {} for {} factors", keep.size(), factors.size()));
    std::vector<Eigen::Index> removed;
    for (Eigen::Index f = 0; f < factors.size(); ++f)
        if (!keep[static_cast<std::size_t>(f)]) removed.push_back(f);
    RowMatrixF out = RowMatrixF::Zero(x.rows(), g);
    if (removed.empty()) return out;
    const auto m = static_cast<Eigen::Index>(removed.size());
    Eigen::MatrixXf read(g, m), scaled_write(m, g);
    for (Eigen::Index j = 0; j < m; ++j) {
        read.col(j) = factors.read.col(removed[j]).cast<float>();
        scaled_write.row(j) = (factors.scale(removed[j]) * factors.write.col(removed[j])).transpose().cast<float>();
    }
    // fixed 256-row blocks: each row meets the same products whatever thread runs it
    parallel_for(x.rows(), 256, threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        out.middleRows(begin, end - begin).noalias() = (x.middleRows(begin, end - begin) * read) * scaled_write;
    });
    return out;
}

} // namespace scx
