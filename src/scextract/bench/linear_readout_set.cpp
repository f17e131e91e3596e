#include "scextract/bench/linear_readout_set.hpp"

#include "scextract/core/dense.hpp"
#include "scextract/core/error.hpp"
#include "scextract/bench/readout_targets.hpp"
#include "scextract/extract/panel_features.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace scx {

namespace {

RowMatrixF standardized(const RowMatrixF& z, const Eigen::VectorXf& mean, const Eigen::VectorXf& sd) {
    RowMatrixF out = z;
    if (mean.size() > 0) Standardizer{mean, sd}.apply_in_place(out);
    return out;
}

std::vector<std::int64_t> decode(const std::vector<std::int64_t>& predicted, const std::vector<std::int64_t>& codes) {
    std::vector<std::int64_t> out(predicted.size());
    for (std::size_t i = 0; i < predicted.size(); ++i) out[i] = codes[static_cast<std::size_t>(predicted[i])];
    return out;
}

} // namespace

std::vector<std::int64_t> mapped_rows(const BenchCells& cells, std::span<const std::int64_t> rows) {
    std::vector<std::int64_t> out;
    out.reserve(rows.size());
    for (const auto r : rows) {
        if (r < 0 || r >= cells.n_cells())
            throw Error(fmt::format("readouts: row {} outside the {} cells", r, cells.n_cells()));
        if (cells.stage[static_cast<std::size_t>(r)] >= 0) out.push_back(r);
    }
    return out;
}

std::int64_t LinearReadoutSet::parameter_count() const {
    std::int64_t n = 0;
    if (depth) n += depth->parameter_count();
    if (stage) n += stage->readout.parameter_count();
    if (branch) n += branch->readout.parameter_count();
    for (const auto& b : binary)
        if (b) n += b->parameter_count();
    return n;
}

MethodPrediction LinearReadoutSet::predict(const RowMatrixF& latent) const {
    if (mean.size() > 0 && latent.cols() != mean.size())
        throw Error(fmt::format("readouts: fitted on a {}-column latent, got {} columns", mean.size(), latent.cols()));
    const RowMatrixF z = standardized(latent, mean, sd);
    MethodPrediction p;
    if (depth) p.pseudotime = depth->predict(z);
    if (stage) p.stage = decode(stage->readout.predict(z), stage->codes);
    if (branch) p.branch = decode(branch->readout.predict(z), branch->codes);
    p.binary_scores.reserve(binary.size());
    for (const auto& b : binary) p.binary_scores.push_back(b ? b->predict_proba(z) : Eigen::VectorXd());
    return p;
}

LinearReadoutSet fit_linear_readout_set(const BenchCells& cells, std::span<const std::int64_t> rows,
                                        const RowMatrixF& latent, const LinearReadoutSetOptions& options) {
    if (latent.rows() != static_cast<Eigen::Index>(rows.size()))
        throw Error(fmt::format("readouts: {} latent rows for {} cells", latent.rows(), rows.size()));
    auto targets = readout_targets(cells, rows, options.min_binary_cells);
    RowMatrixF z = take_rows(latent, targets.keep);
    LinearReadoutSet set;
    if (options.standardize) {
        const auto s = Standardizer::fit(z);
        set.mean = s.mean;
        set.sd = s.sd;
        s.apply_in_place(z);
    }

    RidgeOptions ro = options.ridge;
    ro.threads = options.threads;
    set.depth = fit_depth_readout(z, targets.depth, ro).readout;

    LogisticOptions lo = options.logistic;
    lo.threads = options.threads;
    const auto fit_classes = [&](const char* task, const std::vector<std::int64_t>& y,
                                 const std::vector<std::string>& names) -> std::optional<CodedSoftmaxReadout> {
        if (present_codes(y).size() < 2) {
            set.skipped.push_back(fmt::format("{}: the training cells hold fewer than two classes", task));
            return std::nullopt;
        }
        auto r = fit_softmax_readout(z, y, names, lo);
        return CodedSoftmaxReadout{std::move(r.readout), std::move(r.class_codes)};
    };
    std::vector<std::string> stage_names;
    for (const auto& s : cells.ruler->stages) stage_names.push_back(s.name);
    set.stage = fit_classes("stage", targets.stage, stage_names);
    set.branch = fit_classes("branch", targets.branch, cells.ruler->branches);

    for (std::size_t k = 0; k < cells.binary_tasks.size(); ++k) {
        const auto& task = cells.binary_tasks[k];
        if (!targets.binary[k].trained) {
            set.binary.emplace_back();
            continue;
        }
        set.binary.emplace_back(
            fit_binary_readout(z, targets.binary[k].label, {task.negative_class, task.positive_class}, lo).readout);
    }
    set.skipped.insert(set.skipped.end(), targets.skipped.begin(), targets.skipped.end());
    return set;
}

} // namespace scx
