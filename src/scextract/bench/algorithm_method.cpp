#include "scextract/bench/algorithm_method.hpp"

#include "scextract/core/error.hpp"
#include "scextract/bench/linear_readout_set.hpp"
#include "scextract/bench/mlp_probe_method.hpp"
#include "scextract/baselines/pca_projection.hpp"
#include "scextract/bench/raw_expression_method.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace scx {

std::string_view ladder_bottleneck_name(LadderBottleneck b) {
    switch (b) {
    case LadderBottleneck::adaptor: return "adaptor";
    case LadderBottleneck::none: return "none";
    case LadderBottleneck::pca: return "pca";
    }
    return "?";
}

std::string_view ladder_latent_name(LadderLatent l) { return l == LadderLatent::z ? "z" : "unit"; }

std::string_view ladder_readout_name(LadderReadout r) { return r == LadderReadout::linear ? "linear" : "mlp"; }

AlgorithmMethod::AlgorithmMethod(std::string name, std::string description, FeatureOperator features,
                                 AlgorithmFitOptions options, AlgorithmLadderOptions ladder)
    : name_(std::move(name)), description_(std::move(description)), features_(std::move(features)),
      options_(std::move(options)), ladder_(std::move(ladder)) {}

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

/// Every row divided by its length (lengths floored at 1e-12, as the adaptor's cosines).
void normalise_rows(RowMatrixF& z) {
    for (Eigen::Index i = 0; i < z.rows(); ++i) z.row(i) /= std::max(z.row(i).norm(), 1e-12F);
}

} // namespace

MethodPrediction AlgorithmMethod::run_split(const BenchCells& cells, std::span<const std::int64_t> train,
                                            std::span<const std::int64_t> test, int threads) {
    return ladder_.exported() ? run_exported(cells, train, test, threads) : run_rung(cells, train, test, threads);
}

MethodPrediction AlgorithmMethod::run_exported(const BenchCells& cells, std::span<const std::int64_t> train,
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

MethodPrediction AlgorithmMethod::run_rung(const BenchCells& cells, std::span<const std::int64_t> train,
                                           std::span<const std::int64_t> test, int threads) {
    // The rung reads the shared panel's expression directly, so the operator must be over it.
    if (features_.genes != cells.panel)
        throw Error(fmt::format("{}: the operator's panel is not the benchmark's shared panel (set \"panel\": "
                                "{{\"from_operator\": ...}} to the operator file)",
                                name_));
    const auto rows = mapped_rows(cells, train);
    RowMatrixF f = features_.apply(bench_panel_expression(cells, rows, threads), threads);
    const auto standardizer = Standardizer::fit(f);
    standardizer.apply_in_place(f);
    RowMatrixF ft = features_.apply(bench_panel_expression(cells, test, threads), threads);
    standardizer.apply_in_place(ft);

    std::int64_t parameters = 0;
    RowMatrixF z, zt;
    switch (ladder_.bottleneck) {
    case LadderBottleneck::none:
        z = std::move(f);
        zt = std::move(ft);
        break;
    case LadderBottleneck::pca: {
        const auto pca = fit_pca_projection(f, {.n_components = ladder_.pca_components, .center = true, .threads = threads});
        parameters += pca.projection.parameter_count();
        z = pca.scores;
        zt = pca.projection.transform(ft, threads);
        break;
    }
    case LadderBottleneck::adaptor: {
        AdaptorRowLabels labels;
        for (const auto r : rows) {
            labels.stage.push_back(cells.stage[r]);
            labels.donors.push_back(cells.donor_names[cells.donor[r]]);
            labels.tissues.push_back(cells.tissue_names[cells.tissue[r]]);
            labels.labels.push_back(cells.labels[r]);
        }
        auto options = options_;
        options.threads = threads;
        const auto stage2 = fit_algorithm_adaptor(f, labels, ruler_distances(*cells.ruler), options);
        parameters += stage2.fit.adaptor.parameter_count();
        z = stage2.fit.adaptor.encode(f, threads);
        zt = stage2.fit.adaptor.encode(ft, threads);
        break;
    }
    }
    if (ladder_.latent == LadderLatent::unit) {
        normalise_rows(z);
        normalise_rows(zt);
    }

    MethodPrediction p;
    if (ladder_.readout == LadderReadout::linear) {
        // As their own methods do: fit_algorithm reads the adaptor's z as it is, the PCA-10
        // baseline standardises its scores; standardised features need nothing more, and on
        // them the logistic fits stop at the raw-panel baseline's tolerance (sklearn's 1e-4;
        // raw_expression_method.hpp says why), so that rung is that baseline.
        LinearReadoutSetOptions ro;
        ro.standardize = ladder_.bottleneck == LadderBottleneck::pca;
        if (ladder_.bottleneck == LadderBottleneck::none) ro.logistic.tolerance = RawExpressionOptions{}.readouts.logistic.tolerance;
        ro.threads = threads;
        const auto readouts = fit_linear_readout_set(cells, rows, z, ro);
        parameters += readouts.parameter_count();
        p = readouts.predict(zt);
    } else {
        auto mlp = fit_predict_mlp_readouts(cells, rows, z, zt, ladder_.mlp, options_.min_binary_cells);
        parameters += mlp.parameters;
        p = std::move(mlp.prediction);
    }
    parameters_ = parameters;
    p.latent = std::move(zt);
    return p;
}

} // namespace scx
