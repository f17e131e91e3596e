#include "scextract/baselines/pca_projection.hpp"

#include "scextract/core/blas_threads.hpp"
#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"

#include <cblas.h>

#include <Spectra/MatOp/DenseSymMatProd.h>
#include <Spectra/SymEigsSolver.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

namespace scx {

namespace {

constexpr std::int64_t kRowBlock = 4096;  // rows whose non-zeros are gathered at a time
constexpr std::int64_t kColumnBlock = 16; // cross-product columns per task
constexpr std::int64_t kTransformChunk = 256;

/// Where a block of rows holds at least this share of non-zeros, its X^T X is a dense GEMM;
/// below, only the non-zero pairs are multiplied. The GEMM runs at some 30-50x the scalar
/// loop's rate, so it wins from about sqrt(1/40) of the entries on.
constexpr double kDenseFromDensity = 0.15;

/// Adds the lower triangle of B^T B to @p gram for the rows [begin, end) of @p x, by dense
/// GEMM (OpenBLAS, one thread per task). Each task owns a strip of gram's columns, so the
/// bits do not depend on the thread count.
void add_dense_cross_product(const RowMatrixF& x, std::int64_t begin, std::int64_t end, Eigen::MatrixXd& block,
                             Eigen::MatrixXd& gram, int threads) {
    const std::int64_t rows = end - begin, g = x.cols();
    block = x.middleRows(begin, rows).cast<double>(); // column-major: each gene's values together
    parallel_for(g, kColumnBlock * 4, threads, [&](std::int64_t, std::int64_t c0, std::int64_t c1) {
        // gram[c0:, c0:c1] += B[:, c0:]^T B[:, c0:c1]
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, static_cast<int>(g - c0), static_cast<int>(c1 - c0),
                    static_cast<int>(rows), 1.0, block.data() + c0 * rows, static_cast<int>(rows),
                    block.data() + c0 * rows, static_cast<int>(rows), 1.0, gram.data() + c0 * g + c0, static_cast<int>(g));
    });
}

/// X^T X (lower triangle filled, then mirrored) of the rows of @p x, in double, a block of
/// rows at a time: dense GEMM for dense blocks, the non-zero pairs alone for sparse ones
/// (panel log1p is sparse). Each output column is owned by one task and accumulates the
/// blocks in their order, so the bits do not depend on the thread count.
Eigen::MatrixXd cross_product(const RowMatrixF& x, int threads) {
    const std::int64_t n = x.rows(), g = x.cols();
    Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(g, g);
    const SingleThreadedBlas one_blas_thread;
    Eigen::MatrixXd dense_block;
    std::vector<std::int64_t> ptr;
    std::vector<std::int32_t> col;
    std::vector<double> val;
    for (std::int64_t begin = 0; begin < n; begin += kRowBlock) {
        const std::int64_t end = std::min(n, begin + kRowBlock);
        const std::int64_t rows = end - begin;
        const auto nonzero = (x.middleRows(begin, rows).array() != 0.0F).count();
        if (static_cast<double>(nonzero) >= kDenseFromDensity * static_cast<double>(rows * g)) {
            add_dense_cross_product(x, begin, end, dense_block, gram, threads);
            continue;
        }
        ptr.assign(1, 0);
        col.clear();
        val.clear();
        for (std::int64_t r = begin; r < end; ++r) {
            for (std::int64_t j = 0; j < g; ++j) {
                const float v = x(r, j);
                if (v == 0.0F) continue;
                col.push_back(static_cast<std::int32_t>(j));
                val.push_back(static_cast<double>(v));
            }
            ptr.push_back(static_cast<std::int64_t>(col.size()));
        }
        parallel_for(g, kColumnBlock, threads, [&](std::int64_t, std::int64_t c0, std::int64_t c1) {
            for (std::int64_t r = 0; r < rows; ++r) {
                const auto first = col.begin() + ptr[r], last = col.begin() + ptr[r + 1];
                auto p = std::lower_bound(first, last, static_cast<std::int32_t>(c0));
                for (; p != last && *p < c1; ++p) {
                    const auto pj = p - col.begin();
                    const double vj = val[static_cast<std::size_t>(pj)];
                    double* out = gram.col(*p).data();
                    for (auto q = pj; q < ptr[r + 1]; ++q) out[col[static_cast<std::size_t>(q)]] += val[static_cast<std::size_t>(q)] * vj;
                }
            }
        });
    }
    gram = gram.selfadjointView<Eigen::Lower>();
    return gram;
}

/// The @p k largest eigenpairs of the symmetric @p m, eigenvalues descending, eigenvectors
/// as columns.
struct TopEigen {
    Eigen::VectorXd values;
    Eigen::MatrixXd vectors;
    bool lanczos = false;
};

TopEigen full_top_eigen(const Eigen::MatrixXd& m, std::int64_t k) {
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(m);
    if (es.info() != Eigen::Success) throw Error("PCA: the eigendecomposition did not converge");
    const std::int64_t g = m.rows();
    TopEigen t;
    t.values.resize(k);
    t.vectors.resize(g, k);
    for (std::int64_t i = 0; i < k; ++i) { // ascending -> descending
        t.values[i] = es.eigenvalues()[g - 1 - i];
        t.vectors.col(i) = es.eigenvectors().col(g - 1 - i);
    }
    return t;
}

TopEigen top_eigen(const Eigen::MatrixXd& m, std::int64_t k, PcaSolver solver) {
    const std::int64_t g = m.rows();
    if (solver == PcaSolver::automatic) solver = (g < 256 || 4 * k > g) ? PcaSolver::full : PcaSolver::lanczos;
    if (solver == PcaSolver::full || k >= g - 1) return full_top_eigen(m, k);
    Spectra::DenseSymMatProd<double> op(m);
    const Eigen::Index ncv = std::min<Eigen::Index>(g, std::max<Eigen::Index>(2 * k + 1, 20));
    Spectra::SymEigsSolver<Spectra::DenseSymMatProd<double>> eigs(op, k, ncv);
    eigs.init(); // Spectra's fixed-seed start vector: the same run every time
    const auto nconv = eigs.compute(Spectra::SortRule::LargestAlge, 1000, 1e-12, Spectra::SortRule::LargestAlge);
    if (eigs.info() != Spectra::CompInfo::Successful || nconv < k) return full_top_eigen(m, k);
    return {eigs.eigenvalues(), eigs.eigenvectors(k), true};
}

} // namespace

RowMatrixF PcaProjection::transform(const RowMatrixF& x, int threads) const {
    const std::int64_t g = components.cols(), k = components.rows();
    if (x.cols() != g)
        throw Error(fmt::format("PCA: fitted on {} features, got {}", g, x.cols()));
    RowMatrixF out(x.rows(), k);
    const SingleThreadedBlas one_blas_thread;
    parallel_for(x.rows(), kTransformChunk, threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        // (x - mean) components^T for a fixed block of rows by dgemm: the same operands
        // whatever the thread count, so the same bits
        const auto rows = end - begin;
        RowMatrixD xc = x.middleRows(begin, rows).cast<double>();
        xc.rowwise() -= mean.transpose();
        RowMatrixD scores(rows, k);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(k), static_cast<int>(g),
                    1.0, xc.data(), static_cast<int>(g), components.data(), static_cast<int>(g), 0.0, scores.data(),
                    static_cast<int>(k));
        out.middleRows(begin, rows) = scores.cast<float>();
    });
    return out;
}

PcaProjectionResult fit_pca_projection(const RowMatrixF& x, const PcaProjectionOptions& options) {
    const std::int64_t n = x.rows(), g = x.cols(), k = options.n_components;
    const char* what = options.center ? "PCA" : "truncated SVD";
    if (k < 1 || k > std::min(n, g))
        throw Error(fmt::format("{}: n_components = {} must be between 1 and min(cells, features) = {}", what, k,
                                std::min(n, g)));
    if (options.center && n < 2) throw Error(fmt::format("PCA: needs at least 2 cells, got {}", n));
    if (!x.allFinite()) throw Error(fmt::format("{}: the input holds NaN or infinite values", what));

    // Column means in row order (one pass, fixed order).
    Eigen::VectorXd mean = Eigen::VectorXd::Zero(g);
    for (std::int64_t r = 0; r < n; ++r) mean += x.row(r).transpose().cast<double>();
    mean /= static_cast<double>(n);

    Eigen::MatrixXd m = cross_product(x, options.threads);
    const double nd = static_cast<double>(n);
    double total_variance = 0;
    if (options.center) {
        // Covariance as sklearn's covariance_eigh forms it: (X^T X - n mu mu^T) / (n - 1).
        m.noalias() -= nd * mean * mean.transpose();
        m /= nd - 1.0;
        total_variance = m.trace();
    } else {
        // sklearn: explained_variance_ratio_ = var(scores) / sum(var(X, axis=0)), ddof 0.
        total_variance = m.trace() / nd - mean.squaredNorm();
    }
    TopEigen top = top_eigen(m, k, options.solver);

    PcaProjectionResult out;
    auto& p = out.projection;
    out.used_lanczos = top.lanczos;
    p.centered = options.center;
    p.mean = options.center ? mean : Eigen::VectorXd::Zero(g);
    p.components = top.vectors.transpose();
    for (std::int64_t j = 0; j < k; ++j) { // svd_flip(u_based_decision=False)
        Eigen::Index at = 0;
        p.components.row(j).cwiseAbs().maxCoeff(&at); // the first maximum, as numpy's argmax
        if (p.components(j, at) < 0) p.components.row(j) *= -1.0;
    }
    const Eigen::VectorXd lambda = top.values.cwiseMax(0.0); // rounding can leave tiny negatives
    out.scores = p.transform(x, options.threads);
    if (options.center) {
        p.explained_variance = lambda;
        p.singular_values = (lambda * (nd - 1.0)).cwiseSqrt();
    } else {
        p.singular_values = lambda.cwiseSqrt();
        // The variance of the training scores, from the double eigen-solution: scores = X v,
        // so mean = mu.v and mean square = lambda / n.
        p.explained_variance.resize(k);
        for (std::int64_t j = 0; j < k; ++j) {
            const double mj = mean.dot(p.components.row(j).transpose());
            p.explained_variance[j] = std::max(0.0, lambda[j] / nd - mj * mj);
        }
    }
    p.explained_variance_ratio =
        total_variance > 0 ? Eigen::VectorXd(p.explained_variance / total_variance) : Eigen::VectorXd::Zero(k);
    return out;
}

} // namespace scx
