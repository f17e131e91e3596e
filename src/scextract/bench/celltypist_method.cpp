#include "scextract/bench/celltypist_method.hpp"

#include "scextract/core/error.hpp"
#include "scextract/bench/linear_readout_set.hpp"
#include "scextract/io/json_object_reader.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include <fmt/format.h>

namespace scx {

namespace {

double sigmoid(double t) {
    return t >= 0 ? 1.0 / (1.0 + std::exp(-t)) : std::exp(t) / (1.0 + std::exp(t));
}

/// celltypist's max_iter default for @p n training cells.
std::int64_t celltypist_max_iter(std::int64_t n) {
    if (n < 50000) return 1000;
    if (n < 500000) return 500;
    return 200;
}

} // namespace

RowMatrixF CellTypistModel::scaled(const RowMatrixF& x) const {
    const auto g = static_cast<Eigen::Index>(features.size());
    for (const auto f : features)
        if (f >= x.cols())
            throw Error(fmt::format("CellTypist: the model uses input column {} but the input has {} columns", f, x.cols()));
    RowMatrixF out(x.rows(), g);
    for (Eigen::Index r = 0; r < x.rows(); ++r)
        for (Eigen::Index j = 0; j < g; ++j) {
            const double v = (static_cast<double>(x(r, features[static_cast<std::size_t>(j)])) - mean[j]) / scale[j];
            out(r, j) = static_cast<float>(std::min(v, clip_max)); // only the upper side, as celltypist
        }
    return out;
}

RowMatrixD CellTypistModel::decision_function(const RowMatrixF& x) const {
    const RowMatrixF z = scaled(x);
    RowMatrixD s(z.rows(), coef.rows());
    for (Eigen::Index r = 0; r < z.rows(); ++r) {
        const Eigen::RowVectorXd zr = z.row(r).cast<double>();
        for (Eigen::Index c = 0; c < coef.rows(); ++c) s(r, c) = zr.dot(coef.row(c)) + intercept[c];
    }
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

    RowMatrixF xl(n, x.cols());
    for (Eigen::Index i = 0; i < n; ++i) xl.row(i) = x.row(rows[static_cast<std::size_t>(i)]);
    const RowMatrixF z = m.scaled(xl);

    LogisticOptions lo;
    lo.C = options.C;
    lo.tolerance = options.tolerance;
    lo.path = LbfgsPath::scipy_lbfgsb; // sklearn's lbfgs path: at tol 1e-4 it stops where celltypist's fit does
    lo.max_iterations = options.max_iterations > 0 ? options.max_iterations : celltypist_max_iter(n);
    lo.threads = options.threads;
    // One-vs-rest; with two classes sklearn fits a single model for classes_[1].
    const std::size_t first = m.classes.size() == 2 ? 1 : 0;
    const auto n_models = static_cast<Eigen::Index>(m.classes.size() - first);
    m.coef.resize(n_models, g);
    m.intercept.resize(n_models);
    for (std::size_t c = first; c < m.classes.size(); ++c) {
        std::vector<std::int64_t> y(code.size());
        for (std::size_t i = 0; i < code.size(); ++i) y[i] = code[i] == m.classes[c] ? 1 : 0;
        const auto r = fit_binary_readout(z, y, {"rest", std::to_string(m.classes[c])}, lo);
        const auto row = static_cast<Eigen::Index>(c - first);
        m.coef.row(row) = r.readout.w.cast<double>().transpose();
        m.intercept[row] = r.readout.b;
        out.fits.push_back(r.info);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------

CellTypistMethodOptions celltypist_method_options_from_json(const nlohmann::ordered_json& params, const std::string& where) {
    JsonObjectReader r(params, where);
    CellTypistMethodOptions o;
    o.celltypist.C = r.number("C", o.celltypist.C);
    r.finish();
    return o;
}

CellTypistMethod::CellTypistMethod(CellTypistMethodOptions options) : options_(std::move(options)) {}

MethodInfo CellTypistMethod::info() const {
    return {options_.name.empty() ? std::string("celltypist") : options_.name,
            "CellTypist's default classifier (celltypist.train: StandardScaler, clip at 10, one-vs-rest L2 logistic "
            "regression C=1) on panel log1p, trained on ruler stages; class scores as predictions",
            PseudotimeClass::none, parameters_};
}

MethodPrediction CellTypistMethod::run_split(const BenchCells& cells, std::span<const std::int64_t> train,
                                             std::span<const std::int64_t> test, int threads) {
    const auto rows = mapped_rows(cells, train);
    std::vector<std::int64_t> stage(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) stage[i] = cells.stage[static_cast<std::size_t>(rows[i])];
    auto co = options_.celltypist;
    co.threads = threads;
    const auto fit = fit_celltypist(bench_panel_expression(cells, rows, threads), stage, co);
    const auto& model = fit.model;
    parameters_ = model.parameter_count();

    const RowMatrixD scores = model.decision_function(bench_panel_expression(cells, test, threads));
    const auto n_test = scores.rows();
    const auto K = static_cast<Eigen::Index>(model.classes.size());
    MethodPrediction p;
    p.latent = scores.cast<float>();
    // Branch of each ruler stage, as BenchCells resolves it.
    const auto& ruler = *cells.ruler;
    std::vector<std::int64_t> branch_of(ruler.stages.size(), -1);
    for (std::size_t s = 0; s < ruler.stages.size(); ++s) {
        const auto it = std::find(ruler.branches.begin(), ruler.branches.end(), ruler.stages[s].branch);
        if (it != ruler.branches.end()) branch_of[s] = it - ruler.branches.begin();
    }
    p.stage.resize(static_cast<std::size_t>(n_test));
    p.branch.resize(static_cast<std::size_t>(n_test));
    for (Eigen::Index r = 0; r < n_test; ++r) {
        Eigen::Index best = 0;
        scores.row(r).maxCoeff(&best);
        const auto s = model.classes[static_cast<std::size_t>(best)];
        p.stage[static_cast<std::size_t>(r)] = s;
        p.branch[static_cast<std::size_t>(r)] = branch_of[static_cast<std::size_t>(s)];
    }

    const RowMatrixD prob = scores.unaryExpr([](double t) { return sigmoid(t); });
    const auto need = std::max<std::int64_t>(1, options_.min_binary_cells);
    for (const auto& task : cells.binary_tasks) {
        // Side of each trained class (stages are on one side of a task or outside it) and the
        // training cells per side.
        std::vector<std::int8_t> side(ruler.stages.size(), -1);
        for (std::int64_t i = 0; i < cells.n_cells(); ++i)
            if (cells.stage[i] >= 0 && task.label[i] >= 0) side[static_cast<std::size_t>(cells.stage[i])] = task.label[i];
        std::int64_t count[2] = {0, 0};
        for (const auto r : rows)
            if (task.label[static_cast<std::size_t>(r)] >= 0) ++count[task.label[static_cast<std::size_t>(r)]];
        if (count[0] < need || count[1] < need) {
            p.binary_scores.emplace_back();
            continue;
        }
        Eigen::VectorXd score(n_test);
        for (Eigen::Index r = 0; r < n_test; ++r) {
            double sum[2] = {0, 0};
            for (Eigen::Index c = 0; c < K; ++c) {
                const auto sd = side[static_cast<std::size_t>(model.classes[static_cast<std::size_t>(c)])];
                if (sd >= 0) sum[sd] += prob(r, c);
            }
            score[r] = sum[0] + sum[1] > 0 ? sum[1] / (sum[0] + sum[1]) : 0.5;
        }
        p.binary_scores.push_back(std::move(score));
    }
    return p;
}

} // namespace scx
