#include "scextract/bench/pca_method.hpp"

#include "scextract/io/json_object_reader.hpp"

#include <fmt/format.h>

namespace scx {

PcaMethodOptions pca_method_options_from_json(const nlohmann::ordered_json& params, const std::string& where) {
    JsonObjectReader r(params, where);
    PcaMethodOptions o;
    o.projection.n_components = r.integer("components", 10, 100000);
    if (o.projection.n_components < 1) r.fail("'components' must be positive");
    r.finish();
    return o;
}

PcaMethod::PcaMethod(PcaMethodOptions options) : options_(std::move(options)) {}

PcaMethod PcaMethod::pca10() {
    PcaMethodOptions o;
    o.projection.n_components = 10;
    o.projection.center = true;
    return PcaMethod(o);
}

PcaMethod PcaMethod::svd10() {
    PcaMethodOptions o;
    o.projection.n_components = 10;
    o.projection.center = false;
    return PcaMethod(o);
}

MethodInfo PcaMethod::info() const {
    const auto k = options_.projection.n_components;
    const auto& name = options_.name;
    if (options_.projection.center)
        return {name.empty() ? fmt::format("pca{}", k) : name,
                fmt::format("PCA-{} of panel log1p (sklearn PCA(n_components={}), exact, svd_flip signs) + linear readouts", k, k),
                PseudotimeClass::supervised, parameters_};
    return {name.empty() ? fmt::format("svd{}", k) : name,
            fmt::format("SVD-{} of panel log1p (sklearn TruncatedSVD(n_components={}), exact limit of its randomized "
                        "solver, no centring) + linear readouts",
                        k, k),
            PseudotimeClass::supervised, parameters_};
}

MethodPrediction PcaMethod::run_split(const BenchCells& cells, std::span<const std::int64_t> train,
                                      std::span<const std::int64_t> test, int threads) {
    const auto rows = mapped_rows(cells, train);
    auto po = options_.projection;
    po.threads = threads;
    const auto fit = fit_pca_projection(bench_panel_expression(cells, rows, threads), po);
    auto ro = options_.readouts;
    ro.threads = threads;
    const auto readouts = fit_linear_readout_set(cells, rows, fit.scores, ro);
    parameters_ = fit.projection.parameter_count() + readouts.parameter_count();

    RowMatrixF latent = fit.projection.transform(bench_panel_expression(cells, test, threads), threads);
    MethodPrediction p = readouts.predict(latent);
    p.latent = std::move(latent);
    return p;
}

} // namespace scx
