#pragma once
/// @file algorithm_method.hpp
/// @brief The extracted algorithm as a benchmarked method: per split, `fit` on the training
/// cells (features -> standardiser -> Stage 2 adaptor -> Stage 3 readouts) and model-free
/// `apply` on the test cells - the very library calls the CLI makes.
///
/// The ablation ladder (docs/adaptor.md, "The ladder") varies what sits between the
/// standardised operator features and the readouts, and which readouts, on the same splits:
/// AlgorithmLadderOptions. Its default (the adaptor, readouts on z, linear) is the exported
/// algorithm and runs through fit_algorithm() / apply_algorithm() exactly; every other rung
/// runs the same features, standardiser and Stage 2 fit in memory.

#include "scextract/core/feature_operator.hpp"
#include "scextract/bench/bench_method.hpp"
#include "scextract/baselines/mlp_probe.hpp"
#include "scextract/readout/algorithm_pipeline.hpp"

#include <string>
#include <string_view>

namespace scx {

/// What maps the standardised operator features to the readouts' input.
enum class LadderBottleneck {
    adaptor, ///< Stage 2 (AlgorithmFitOptions::adaptor's variant): the method
    none,    ///< the standardised features themselves
    pca,     ///< PCA of the standardised features (sklearn PCA, fitted on the training cells)
};

/// What the readouts see of the bottleneck's output.
enum class LadderLatent {
    z,    ///< as it is
    unit, ///< z / |z|: the ruler term fixes only directions of z, not lengths
};

/// Which readouts.
enum class LadderReadout {
    linear, ///< ridge / logistic (readout/readouts.hpp), as fit_algorithm
    mlp,    ///< one MLP probe per task, k -> hidden -> C (the reconstruction's follow-up)
};

std::string_view ladder_bottleneck_name(LadderBottleneck b);
std::string_view ladder_latent_name(LadderLatent l);
std::string_view ladder_readout_name(LadderReadout r);

/// One rung of the ladder. The defaults are the exported algorithm.
struct AlgorithmLadderOptions {
    LadderBottleneck bottleneck = LadderBottleneck::adaptor;
    std::int64_t pca_components = 10; ///< LadderBottleneck::pca
    LadderLatent latent = LadderLatent::z;
    LadderReadout readout = LadderReadout::linear;
    /// LadderReadout::mlp: one hidden layer of 64 (10 -> 64 -> C on the adaptor's latent).
    MlpProbeOptions mlp = [] {
        MlpProbeOptions o;
        o.hidden = {64};
        return o;
    }();

    /// True for the exported algorithm (adaptor, z, linear readouts).
    [[nodiscard]] bool exported() const {
        return bottleneck == LadderBottleneck::adaptor && latent == LadderLatent::z && readout == LadderReadout::linear;
    }
};

class AlgorithmMethod final : public BenchMethod {
public:
    /// @p name e.g. "scextract" or a control's name ("identity", "matched_spectrum").
    AlgorithmMethod(std::string name, std::string description, FeatureOperator features,
                    AlgorithmFitOptions options = {}, AlgorithmLadderOptions ladder = {});
    [[nodiscard]] MethodInfo info() const override;
    MethodPrediction run_split(const BenchCells& cells, std::span<const std::int64_t> train,
                               std::span<const std::int64_t> test, int threads) override;

private:
    /// The exported algorithm: fit_algorithm() on the training cells, apply_algorithm() on the test cells.
    MethodPrediction run_exported(const BenchCells& cells, std::span<const std::int64_t> train,
                                  std::span<const std::int64_t> test, int threads);
    /// Any other rung, in memory on the shared panel.
    MethodPrediction run_rung(const BenchCells& cells, std::span<const std::int64_t> train,
                              std::span<const std::int64_t> test, int threads);

    std::string name_, description_;
    FeatureOperator features_;
    AlgorithmFitOptions options_;
    AlgorithmLadderOptions ladder_;
    std::int64_t parameters_ = -1; ///< from the last fit
};

} // namespace scx
