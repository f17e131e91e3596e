#include "scextract/bench/scvi_method.hpp"

#include "scextract/core/error.hpp"

#include "scextract/bench/per_donor_pseudotime.hpp"
#include "scextract/bench/readout_targets.hpp"
#include "scextract/io/json_object_reader.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace scx {

ScviMethodOptions scvi_method_options_from_json(const nlohmann::ordered_json& params, const std::string& where) {
    JsonObjectReader r(params, where);
    ScviMethodOptions o;
    auto& v = o.scvi;
    v.n_latent = r.integer("n_latent", v.n_latent, 65536);
    v.n_hidden = r.integer("n_hidden", v.n_hidden, 65536);
    v.max_epochs = r.integer("max_epochs", v.max_epochs, 100000);
    v.batch_size = r.integer("batch_size", v.batch_size, 10000000);
    v.seed = static_cast<std::uint64_t>(r.integer("seed", static_cast<std::int64_t>(v.seed)));
    o.min_cells = r.integer("min_cells", o.min_cells, 10000000);
    if (v.n_latent < 1 || v.n_hidden < 1 || v.max_epochs < 0 || v.batch_size < 2)
        r.fail("'n_latent' and 'n_hidden' must be positive, 'max_epochs' at least 0 (0: scvi-tools' heuristic), "
               "'batch_size' at least 2");
    r.finish();
    return o;
}

ScviMethod::ScviMethod(ScviMethodOptions options) : options_(std::move(options)) {}

MethodInfo ScviMethod::info() const {
    const auto& o = options_.scvi;
    return {options_.name.empty() ? std::string("scvi") : options_.name,
            fmt::format("scVI ({}-D, {} hidden, ZINB, scvi-tools 1.4.2 defaults; epochs {}) on raw panel counts, no batch "
                        "key; linear readouts; latent-distance pseudotime",
                        o.n_latent, o.n_hidden, o.max_epochs > 0 ? fmt::format("{}", o.max_epochs) : "by scvi-tools' heuristic"),
            PseudotimeClass::unsupervised, parameters_};
}

MethodPrediction ScviMethod::run_split(const BenchCells& cells, std::span<const std::int64_t> train,
                                       std::span<const std::int64_t> test, int threads) {
    if (cells.normalized_values) throw Error("scVI models raw counts, and the input holds log-normalised values");
    const RowMatrixF train_counts = bench_panel_counts(cells, train);
    auto so = options_.scvi;
    so.threads = threads;
    const auto model = train_scvi(train_counts, so);
    const RowMatrixF z_train = zero_nonfinite_rows(scvi_latent_mean(model.parameters, train_counts));
    auto ro = options_.readouts;
    ro.threads = threads;
    const auto readouts = fit_linear_readout_set(cells, train, z_train, ro);
    parameters_ = model.parameters.parameter_count() + readouts.parameter_count();
    const RowMatrixF z_test = zero_nonfinite_rows(scvi_latent_mean(model.parameters, bench_panel_counts(cells, test)));
    MethodPrediction p = readouts.predict(z_test);
    p.pseudotime = per_donor_pseudotime(cells, test, options_.min_cells,
                                        [&](std::span<const std::int64_t> positions, const RowMatrixF&, std::int64_t root, int) {
                                            const Eigen::RowVectorXf origin = z_test.row(positions[static_cast<std::size_t>(root)]);
                                            Eigen::VectorXd t(static_cast<Eigen::Index>(positions.size()));
                                            for (std::size_t i = 0; i < positions.size(); ++i)
                                                t(static_cast<Eigen::Index>(i)) = (z_test.row(positions[i]) - origin).cast<double>().norm();
                                            if (t.maxCoeff() > 0.0) t /= t.maxCoeff();
                                            return t;
                                        },
                                        threads);
    p.latent = z_test;
    return p;
}

} // namespace scx
