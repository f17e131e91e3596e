#pragma once
/// @file raw_expression_method.hpp
/// @brief The raw-panel baseline: the shared panel's log1p(normalize_total(counts, 1e4))
/// (bench_panel_expression) used directly as the latent of the shared linear readouts
/// (bench/linear_readout_set.hpp): a supervised pseudotime, stage, branch and binary-task
/// scores. It asks what the readouts reach with no representation learnt at all.

#include "scextract/bench/bench_method.hpp"
#include "scextract/bench/linear_readout_set.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>

namespace scx {

/// Options of RawExpressionMethod.
struct RawExpressionOptions {
    std::string name; ///< name in tables; empty: "raw_panel"
    /// Standardised panel, ridge alpha 1, logistic C 1; the logistic fits stop at sklearn's
    /// default tol (1e-4, the same gradient quantity as LogisticOptions::tolerance) instead of
    /// 1e-9: on a 1,200-gene latent each L-BFGS step is a pass over all training cells with
    /// ~100x the work of a 10-D latent, and the last digits do not change a prediction.
    LinearReadoutSetOptions readouts = [] {
        LinearReadoutSetOptions o;
        o.logistic.tolerance = 1e-4;
        return o;
    }();
    /// Return the test cells' panel expression as MethodPrediction::latent (test cells x
    /// panel genes, float: about 4.8 kB a cell for a 1,200-gene panel); false leaves it empty.
    bool keep_latent = true;
};

/// The options of a "raw" method entry of a bench config, which takes no keys: any key is
/// refused with scx::Error, @p where (file and JSON path) starting the message. The name is
/// left empty.
RawExpressionOptions raw_expression_options_from_json(const nlohmann::ordered_json& params, const std::string& where);

/// Panel log1p + linear readouts, fitted on the training cells with a ruler stage.
class RawExpressionMethod final : public BenchMethod {
public:
    explicit RawExpressionMethod(RawExpressionOptions options = {});
    /// name "raw_panel"; trainable parameters of the last split's readouts (-1 before any).
    [[nodiscard]] MethodInfo info() const override;
    MethodPrediction run_split(const BenchCells& cells, std::span<const std::int64_t> train,
                               std::span<const std::int64_t> test, int threads) override;

private:
    RawExpressionOptions options_;
    std::int64_t parameters_ = -1;
};

} // namespace scx
