#pragma once
/// @file palantir_method.hpp
/// @brief The Palantir baseline: palantir's pseudotime (baselines/palantir.hpp) with its defaults,
/// run on each held-out donor's test cells and started from the most progenitor-like cell by
/// label (bench/per_donor_pseudotime.hpp). An unsupervised pseudotime: no branch, stage or
/// binary-task endpoints (Palantir's fate probabilities are not mapped to ruler branches).

#include "scextract/bench/bench_method.hpp"
#include "scextract/baselines/palantir.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <span>
#include <string>

namespace scx {

/// Options of PalantirMethod.
struct PalantirMethodOptions {
    std::string name;          ///< name in tables; empty: "palantir"
    PalantirOptions palantir;  ///< PCA-50, knn 30, 10 components, 1200 waypoints, seed 20
    /// A donor with fewer test cells gets no pseudotime (NaN).
    std::int64_t min_cells = 50;
};

/// The options of a "palantir" method entry of a bench config: n_pcs, knn (the kernel's and the
/// pseudotime's), n_components, num_waypoints, max_iterations, seed and min_cells, each defaulting
/// to PalantirMethodOptions'; the name is left empty. @p where starts every error message (file and
/// JSON path); throws scx::Error on a bad value or an unknown key.
PalantirMethodOptions palantir_method_options_from_json(const nlohmann::ordered_json& params, const std::string& where);

/// Palantir per held-out donor on the shared panel's log1p expression; the early cell is
/// pseudotime_root_cell().
class PalantirMethod final : public BenchMethod {
public:
    explicit PalantirMethod(PalantirMethodOptions options = {});
    /// name "palantir", unsupervised pseudotime, 0 trainable parameters.
    [[nodiscard]] MethodInfo info() const override;
    /// Ignores @p train.
    MethodPrediction run_split(const BenchCells& cells, std::span<const std::int64_t> train,
                               std::span<const std::int64_t> test, int threads) override;

private:
    PalantirMethodOptions options_;
};

} // namespace scx
