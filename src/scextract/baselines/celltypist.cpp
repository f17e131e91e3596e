#include "scextract/baselines/celltypist.hpp"

#include "scextract/core/error.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include <fmt/format.h>

namespace scx {

namespace {

/// celltypist's max_iter default for @p n training cells.
std::int64_t celltypist_max_iter(std::int64_t n) {
    if (n < 50000) return 1000;
    if (n < 500000) return 500;
    return 200;
}

/// Rows @p rows of @p x reduced to the model's features, scaled and clipped; each value rounded
/// to float (celltypist's scaled matrix is float32) and stored as @p Scalar.
template <class Scalar>
Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> scale_rows(const CellTypistModel& m, const RowMatrixF& x,
                                                                                   const std::vector<Eigen::Index>& rows) {
    const auto g = static_cast<Eigen::Index>(m.features.size());
    for (const auto f : m.features)
        if (f >= x.cols())
            throw Error(fmt::format("CellTypist: the model uses input column {} but the input has {} columns", f, x.cols()));
    Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> out(static_cast<Eigen::Index>(rows.size()), g);
    for (Eigen::Index r = 0; r < out.rows(); ++r) {
        const auto xr = x.row(rows[static_cast<std::size_t>(r)]);
        for (Eigen::Index j = 0; j < g; ++j) {
            const double v = (static_cast<double>(xr[m.features[static_cast<std::size_t>(j)]]) - m.mean[j]) / m.scale[j];
            out(r, j) = static_cast<Scalar>(static_cast<float>(std::min(v, m.clip_max))); // only the upper side, as celltypist
        }
    }
    return out;
}

} // namespace

RowMatrixF CellTypistModel::scaled(const RowMatrixF& x) const {
    std::vector<Eigen::Index> rows(static_cast<std::size_t>(x.rows()));
    for (Eigen::Index r = 0; r < x.rows(); ++r) rows[static_cast<std::size_t>(r)] = r;
    return scale_rows<float>(*this, x, rows);
}

RowMatrixD CellTypistModel::decision_function(const RowMatrixF& x) const {
    RowMatrixD s = scaled(x).cast<double>() * coef.transpose();
    s.rowwise() += intercept.transpose();
    if (coef.rows() == 1 && classes.size() == 2) { // sklearn's binary form, stacked as celltypist does
        RowMatrixD two(s.rows(), 2);
        two.col(0) = -s.col(0);
        two.col(1) = s.col(0);
        return two;
    }
    return s;
}

std::vector<std::int64_t> CellTypistModel::predict(const RowMatrixF& x) const {
    const RowMatrixD s = decision_function(x);
    std::vector<std::int64_t> out(static_cast<std::size_t>(s.rows()));
    for (Eigen::Index r = 0; r < s.rows(); ++r) {
        Eigen::Index best = 0;
        s.row(r).maxCoeff(&best); // the first maximum, as numpy's argmax
        out[static_cast<std::size_t>(r)] = classes[static_cast<std::size_t>(best)];
    }
    return out;
}

CellTypistFitResult fit_celltypist(const RowMatrixF& x, const std::vector<std::int64_t>& labels,
                                   const CellTypistOptions& options) {
    if (static_cast<Eigen::Index>(labels.size()) != x.rows())
        throw Error(fmt::format("CellTypist: {} cells but {} labels", x.rows(), labels.size()));
    if (!(options.C > 0.0) || !std::isfinite(options.C)) throw Error(fmt::format("CellTypist: C = {} must be positive", options.C));
    std::vector<Eigen::Index> rows;
    std::vector<std::int64_t> code;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] < -1) throw Error(fmt::format("CellTypist: label {} of cell {} is negative", labels[i], i));
        if (labels[i] < 0) continue;
        rows.push_back(static_cast<Eigen::Index>(i));
        code.push_back(labels[i]);
    }
    CellTypistFitResult out;
    CellTypistModel& m = out.model;
    m.classes = code;
    std::sort(m.classes.begin(), m.classes.end());
    m.classes.erase(std::unique(m.classes.begin(), m.classes.end()), m.classes.end());
    if (m.classes.size() < 2)
        throw Error(fmt::format("CellTypist: needs at least two classes among the labelled cells, got {}", m.classes.size()));
    const auto n = static_cast<Eigen::Index>(rows.size());
    const double nd = static_cast<double>(n);

    // Column sums row by row (the matrix is row-major), rows in a fixed order.
    Eigen::VectorXd total = Eigen::VectorXd::Zero(x.cols());
    for (const auto r : rows) total += x.row(r).transpose().cast<double>();
    // Genes with a zero total are dropped (celltypist: indata.sum(axis=0) == 0).
    for (Eigen::Index j = 0; j < x.cols(); ++j)
        if (total[j] != 0.0) m.features.push_back(j);
    if (m.features.empty()) throw Error("CellTypist: every gene has a zero total over the training cells");

    // StandardScaler: population mean and variance (two passes); a constant feature
    // (sklearn's _is_constant_feature bound) gets scale 1.
    const auto g = static_cast<Eigen::Index>(m.features.size());
    const double eps = std::numeric_limits<double>::epsilon();
    Eigen::VectorXd mean(g), var = Eigen::VectorXd::Zero(g);
    for (Eigen::Index j = 0; j < g; ++j) mean[j] = total[m.features[static_cast<std::size_t>(j)]] / nd;
    for (const auto r : rows)
        for (Eigen::Index j = 0; j < g; ++j) {
            const double d = static_cast<double>(x(r, m.features[static_cast<std::size_t>(j)])) - mean[j];
            var[j] += d * d;
        }
    var /= nd;
    m.scale.resize(g);
    for (Eigen::Index j = 0; j < g; ++j) {
        const double bound = nd * eps * var[j] + (nd * mean[j] * eps) * (nd * mean[j] * eps);
        m.scale[j] = var[j] <= bound ? 1.0 : std::sqrt(var[j]);
    }
    m.mean = options.with_mean ? mean : Eigen::VectorXd::Zero(g);
    m.clip_max = options.clip_max;

    // in double from the start: the fits need double, and a float copy beside it would cost
    // a third more memory
    RowMatrixD z = scale_rows<double>(m, x, rows);

    LogisticOptions lo;
    lo.C = options.C;
    lo.tolerance = options.tolerance;
    lo.path = LbfgsPath::scipy_lbfgsb; // sklearn's lbfgs path: at tol 1e-4 it stops where celltypist's fit does
    lo.max_iterations = options.max_iterations > 0 ? options.max_iterations : celltypist_max_iter(n);
    lo.threads = options.threads;
    // One-vs-rest, all classes fitted together; with two classes sklearn fits a single model
    // for classes_[1].
    const std::size_t first = m.classes.size() == 2 ? 1 : 0;
    std::vector<std::vector<std::int64_t>> y;
    std::vector<std::array<std::string, 2>> names;
    for (std::size_t c = first; c < m.classes.size(); ++c) {
        auto& yc = y.emplace_back(code.size());
        for (std::size_t i = 0; i < code.size(); ++i) yc[i] = code[i] == m.classes[c] ? 1 : 0;
        names.push_back({"rest", std::to_string(m.classes[c])});
    }
    const auto fits = fit_binary_readouts(std::move(z), y, names, lo);
    const auto n_models = static_cast<Eigen::Index>(fits.size());
    m.coef.resize(n_models, g);
    m.intercept.resize(n_models);
    for (Eigen::Index row = 0; row < n_models; ++row) {
        const auto& r = fits[static_cast<std::size_t>(row)];
        m.coef.row(row) = r.readout.w.cast<double>().transpose();
        m.intercept[row] = r.readout.b;
        out.fits.push_back(r.info);
    }
    return out;
}

} // namespace scx
