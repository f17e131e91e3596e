#pragma once
/// @file dpt_method.hpp
/// @brief The DPT baseline: scanpy's diffusion pseudotime (baselines/diffusion_pseudotime.hpp) run
/// on each held-out donor's test cells, as a user would run scanpy on one donor, rooted at
/// the most progenitor-like cell by label (bench/per_donor_pseudotime.hpp). An unsupervised pseudotime: no readouts, so no
/// branch, stage or binary-task endpoints.

#include "scextract/bench/bench_method.hpp"
#include "scextract/baselines/diffusion_pseudotime.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <span>
#include <string>

namespace scx {

/// Options of DptMethod.
struct DptMethodOptions {
    std::string name;        ///< name in tables; empty: "dpt"
    ScanpyDptOptions dpt;    ///< scanpy's defaults (PCA-50, 15 neighbours, umap, 15 DCs, n_dcs 10)
    /// A donor with fewer test cells gets no pseudotime (NaN): scanpy needs more cells than
    /// neighbours, and a diffusion map of a handful of cells says little.
    std::int64_t min_cells = 30;
};

/// The options of a "dpt" method entry of a bench config: n_pcs, n_neighbors, n_comps, n_dcs,
/// min_cells and method (umap | gauss), each defaulting to DptMethodOptions'; the name is left
/// empty. @p where starts every error message (file and JSON path); throws scx::Error on a bad
/// value or an unknown key.
DptMethodOptions dpt_method_options_from_json(const nlohmann::ordered_json& params, const std::string& where);

/// DPT per held-out donor on the shared panel's log1p expression.
class DptMethod final : public BenchMethod {
public:
    explicit DptMethod(DptMethodOptions options = {});
    /// name "dpt", unsupervised pseudotime, 0 trainable parameters.
    [[nodiscard]] MethodInfo info() const override;
    /// Ignores @p train; see per_donor_pseudotime() for donors without a pseudotime and for
    /// cells outside the root's graph component (scanpy: +inf).
    MethodPrediction run_split(const BenchCells& cells, std::span<const std::int64_t> train,
                               std::span<const std::int64_t> test, int threads) override;

private:
    DptMethodOptions options_;
};

} // namespace scx
