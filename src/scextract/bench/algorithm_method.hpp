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
#include "scextract/extract/compress.hpp"
#include "scextract/readout/algorithm_pipeline.hpp"

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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
    /// The feature operator's stored values and MB, after any control (the identity control
    /// counts its dense G x G block, as the operator holds it).
    [[nodiscard]] std::optional<OperatorSize> operator_size() const override;

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

/// What an "algorithm" method entry of a bench config asks for: the features (an operator
/// file, or the identity on the panel), a control in their place, and the Stage 2/3 fit and
/// ladder rung. make_algorithm_method() builds the method.
struct AlgorithmMethodSpec {
    std::string operator_file;     ///< an operator file from `scextract export`, or "identity"
    FeatureSpec features;          ///< built from the operator file (not used for "identity")
    /// "none", or "matched_spectrum" (same singular values, random directions) or
    /// "gene_permuted" (genes shuffled) built from those features with @ref control_seed.
    std::string control = "none";
    std::uint64_t control_seed = 7;
    AlgorithmFitOptions fit;       ///< adaptor variant and seed from the entry; the rest default
    AlgorithmLadderOptions ladder;
};

/// Parses an "algorithm" method entry of a bench config: operator (required), control and
/// control_seed, the features (features, head, heads, rank, factors, top_genes,
/// orientation), adaptor and seed, and the ladder keys (bottleneck with components, latent,
/// readout with hidden). A key that cannot make a difference to the entry (e.g. orientation
/// for "identity", adaptor with bottleneck none) is refused. @p where starts every error
/// message (file and JSON path); throws scx::Error on a bad value or an unknown key.
AlgorithmMethodSpec algorithm_method_spec_from_json(const nlohmann::ordered_json& params, const std::string& where);

/// The method @p spec describes, named @p name: the identity on @p panel, or the features
/// built from spec.operator_file as @p read_operators returns it, with the control applied.
std::unique_ptr<AlgorithmMethod>
make_algorithm_method(std::string name, const AlgorithmMethodSpec& spec, const std::vector<std::string>& panel,
                      const std::function<const OperatorSet&(const std::string&)>& read_operators);

} // namespace scx
