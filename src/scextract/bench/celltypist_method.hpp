#pragma once
/// @file celltypist_method.hpp
/// @brief The CellTypist baseline: CellTypist's default classifier (baselines/celltypist.hpp)
/// trained per split on the ruler stages of the training cells, on the shared panel's
/// log1p(normalize_total(counts, 1e4)) (bench_panel_expression).
///
/// Benchmark outputs: stage = the argmax class; branch = that stage's branch; no pseudotime;
/// latent = the decision scores (test cells x classes), CellTypist's own cell
/// representation; binary task score = sum of the per-class probabilities of the task's
/// positive stages over that of both sides' stages (the one-vs-rest probabilities are
/// independent, so they are renormalised over the task's classes; 0.5 when both sums are 0).

#include "scextract/bench/bench_method.hpp"
#include "scextract/baselines/celltypist.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>

namespace scx {

/// Options of CellTypistMethod.
struct CellTypistMethodOptions {
    std::string name; ///< name in tables; empty: "celltypist"
    CellTypistOptions celltypist;
    /// A binary task is scored when each side has at least this many training cells (as the
    /// linear readouts' min_binary_cells, so every method scores the same tasks).
    std::int64_t min_binary_cells = 10;
};

/// The options of a "celltypist" method entry of a bench config: C (default 1); the name is left
/// empty. @p where starts every error message (file and JSON path); throws scx::Error on a bad
/// value or an unknown key.
CellTypistMethodOptions celltypist_method_options_from_json(const nlohmann::ordered_json& params, const std::string& where);

/// CellTypist trained on the ruler stages of the training cells with a stage; see the file
/// comment for how its outputs become the benchmark's.
class CellTypistMethod final : public BenchMethod {
public:
    explicit CellTypistMethod(CellTypistMethodOptions options = {});
    /// name "celltypist", no pseudotime; trainable parameters of the last split (-1 before any).
    [[nodiscard]] MethodInfo info() const override;
    MethodPrediction run_split(const BenchCells& cells, std::span<const std::int64_t> train,
                               std::span<const std::int64_t> test, int threads) override;

private:
    CellTypistMethodOptions options_;
    std::int64_t parameters_ = -1;
};

} // namespace scx
