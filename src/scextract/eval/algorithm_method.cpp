#include "scextract/eval/algorithm_method.hpp"

#include "scextract/core/error.hpp"

#include <algorithm>

namespace scx {

AlgorithmMethod::AlgorithmMethod(std::string name, std::string description, FeatureOperator features,
                                 AlgorithmFitOptions options)
    : name_(std::move(name)), description_(std::move(description)), features_(std::move(features)),
      options_(std::move(options)) {}

MethodInfo AlgorithmMethod::info() const {
    return {name_, description_, PseudotimeClass::supervised, parameters_};
}

namespace {

std::vector<std::string> take(const std::vector<std::string>& v, std::span<const std::int64_t> rows) {
    std::vector<std::string> out;
    out.reserve(rows.size());
    for (const auto r : rows) out.push_back(v[static_cast<std::size_t>(r)]);
    return out;
}

/// Index of @p name in @p names, or -1.
std::int64_t index_of(const std::vector<std::string>& names, const std::string& name) {
    const auto it = std::find(names.begin(), names.end(), name);
    return it == names.end() ? -1 : it - names.begin();
}

} // namespace

MethodPrediction AlgorithmMethod::run_split(const BenchCells& cells, std::span<const std::int64_t> train,
                                            std::span<const std::int64_t> test, int threads) {
    const CsrMatrix train_counts = select_rows(*cells.counts, train);
    AlgorithmTrainingData data;
    data.counts = &train_counts;
    data.symbols = cells.symbols;
    data.labels = take(cells.labels, train);
    std::vector<std::string> donors, tissues;
    for (const auto r : train) {
        donors.push_back(cells.donor_names[cells.donor[r]]);
        tissues.push_back(cells.tissue_names[cells.tissue[r]]);
    }
    data.donors = std::move(donors);
    data.tissues = std::move(tissues);
    auto options = options_;
    options.threads = threads;
    const auto fit = fit_algorithm(features_, *cells.ruler, cells.ruler_json, data, options);
    std::int64_t parameters = fit.adaptor_parameters;
    for (const auto& r : fit.readouts) parameters += r.parameters;
    parameters_ = parameters;

    const CsrMatrix test_counts = select_rows(*cells.counts, test);
    const auto applied = apply_algorithm(fit.algorithm, test_counts, cells.symbols, {.max_missing_fraction = 1.0, .threads = threads});
    MethodPrediction p;
    p.latent = applied.latent;
    p.pseudotime = applied.depth;
    std::vector<std::string> stage_names;
    for (const auto& s : cells.ruler->stages) stage_names.push_back(s.name);
    for (const auto& b : applied.branch) p.branch.push_back(index_of(cells.ruler->branches, b));
    for (const auto& s : applied.stage) p.stage.push_back(index_of(stage_names, s));
    for (const auto& task : cells.binary_tasks) {
        const auto it = std::find_if(applied.probabilities.begin(), applied.probabilities.end(),
                                     [&](const auto& tp) { return tp.first == task.name; });
        p.binary_scores.push_back(it == applied.probabilities.end() ? Eigen::VectorXd() : it->second);
    }
    return p;
}

} // namespace scx
