#pragma once
/// @file scvi_method.hpp
/// @brief The scVI baseline: scvi-tools' 10-D VAE (baselines/scvi_model.hpp) trained per split on
/// the training donors' raw panel counts, latent means as the representation, the shared
/// linear readouts (stage, branch, binary tasks) on it, and a latent-distance pseudotime.
///
/// Batch policy under donor holdout: no batch key. Test donors are unseen, so a donor batch
/// covariate would need scArches-style query mapping; without one, test cells go through the
/// trained encoder as they are (scVI's amortised inference), which is what a user mapping
/// new donors onto a reference scVI model without retraining gets.

#include "scextract/bench/bench_method.hpp"
#include "scextract/bench/linear_readout_set.hpp"
#include "scextract/baselines/scvi_model.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <span>
#include <string>

namespace scx {

/// Options of ScviMethod.
struct ScviMethodOptions {
    std::string name;          ///< name in tables; empty: "scvi"
    ScviOptions scvi;          ///< scvi-tools' defaults (max_epochs by its heuristic)
    LinearReadoutSetOptions readouts;
    std::int64_t min_cells = 30; ///< per held-out donor, for the pseudotime
};

/// The options of a "scvi" method entry of a bench config: n_latent, n_hidden, max_epochs (0:
/// scvi-tools' heuristic), batch_size, seed and min_cells, each defaulting to ScviMethodOptions';
/// the name is left empty. @p where starts every error message (file and JSON path); throws
/// scx::Error on a bad value or an unknown key.
ScviMethodOptions scvi_method_options_from_json(const nlohmann::ordered_json& params, const std::string& where);

/// scVI latent + linear readouts + latent-distance pseudotime (unsupervised class: the
/// euclidean distance in the latent from the root of bench/per_donor_pseudotime.hpp,
/// per held-out donor, scaled to [0, 1]).
class ScviMethod final : public BenchMethod {
public:
    explicit ScviMethod(ScviMethodOptions options = {});
    /// name "scvi"; trainable parameters of the last split: the VAE's plus the readouts'.
    [[nodiscard]] MethodInfo info() const override;
    MethodPrediction run_split(const BenchCells& cells, std::span<const std::int64_t> train,
                               std::span<const std::int64_t> test, int threads) override;

private:
    ScviMethodOptions options_;
    std::int64_t parameters_ = -1;
};

} // namespace scx
