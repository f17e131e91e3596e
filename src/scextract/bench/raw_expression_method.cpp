#include "scextract/bench/raw_expression_method.hpp"

#include "scextract/io/json_object_reader.hpp"

namespace scx {

RawExpressionOptions raw_expression_options_from_json(const nlohmann::ordered_json& params, const std::string& where) {
    JsonObjectReader(params, where).finish();
    return {};
}

RawExpressionMethod::RawExpressionMethod(RawExpressionOptions options) : options_(std::move(options)) {}

MethodInfo RawExpressionMethod::info() const {
    return {options_.name.empty() ? std::string("raw_panel") : options_.name,
            "panel log1p(normalize_total 1e4), standardised, + linear readouts (sklearn Ridge / LogisticRegression defaults)",
            PseudotimeClass::supervised, parameters_};
}

MethodPrediction RawExpressionMethod::run_split(const BenchCells& cells, std::span<const std::int64_t> train,
                                                std::span<const std::int64_t> test, int threads) {
    const auto rows = mapped_rows(cells, train);
    auto ro = options_.readouts;
    ro.threads = threads;
    const auto readouts = fit_linear_readout_set(cells, rows, bench_panel_expression(cells, rows, threads), ro);
    parameters_ = readouts.parameter_count();
    RowMatrixF latent = bench_panel_expression(cells, test, threads);
    MethodPrediction p = readouts.predict(latent);
    if (options_.keep_latent) p.latent = std::move(latent);
    return p;
}

} // namespace scx
