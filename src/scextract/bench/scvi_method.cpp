#include "scextract/bench/scvi_method.hpp"

#include "scextract/bench/per_donor_pseudotime.hpp"
#include "scextract/bench/readout_targets.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace scx {

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
