#include "scextract/bench/celltypist_method.hpp"

#include "scextract/core/error.hpp"
#include "scextract/bench/linear_readout_set.hpp"
#include "scextract/io/json_object_reader.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include <fmt/format.h>

namespace scx {

namespace {

double sigmoid(double t) {
    return t >= 0 ? 1.0 / (1.0 + std::exp(-t)) : std::exp(t) / (1.0 + std::exp(t));
}

} // namespace

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
