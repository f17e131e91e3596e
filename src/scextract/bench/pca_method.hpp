#pragma once
/// @file pca_method.hpp
/// @brief The PCA-10 and SVD-10 baselines: sklearn PCA(n_components=10) or
/// TruncatedSVD(n_components=10) (baselines/pca_projection.hpp) fitted per split on the panel
/// log1p of the training cells that have a ruler stage, test cells projected, then the
/// shared linear readouts (bench/linear_readout_set.hpp): a supervised pseudotime, stage,
/// branch and binary-task scores.

#include "scextract/bench/bench_method.hpp"
#include "scextract/bench/linear_readout_set.hpp"
#include "scextract/baselines/pca_projection.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>

namespace scx {

/// Options of PcaMethod.
struct PcaMethodOptions {
    std::string name; ///< name in tables; empty: "pca<k>" / "svd<k>"
    /// n_components 10; center = true is PCA-10, false is SVD-10. threads is set per split.
    PcaProjectionOptions projection;
    LinearReadoutSetOptions readouts;
};

/// The options of a "pca" or "svd" method entry of a bench config: components (default 10,
/// positive). projection.center is left for the caller to set by the entry's type and the name
/// empty. @p where starts every error message (file and JSON path); throws scx::Error on a bad
/// value or an unknown key.
PcaMethodOptions pca_method_options_from_json(const nlohmann::ordered_json& params, const std::string& where);

/// PCA-10 (projection.center) or SVD-10 (!projection.center) + linear readouts. The
/// projection is fitted on the same rows as the readouts (training cells with a stage),
/// as the extracted algorithm fits its standardiser. MethodPrediction::latent holds the
/// test cells' scores.
class PcaMethod final : public BenchMethod {
public:
    explicit PcaMethod(PcaMethodOptions options = {});
    /// "pca10": PCA(n_components=10).
    [[nodiscard]] static PcaMethod pca10();
    /// "svd10": TruncatedSVD(n_components=10), exact.
    [[nodiscard]] static PcaMethod svd10();

    /// name "pca<k>" or "svd<k>"; trainable parameters from the last split: the projection
    /// (components, and the mean for PCA) plus the readouts; -1 before any split.
    [[nodiscard]] MethodInfo info() const override;
    MethodPrediction run_split(const BenchCells& cells, std::span<const std::int64_t> train,
                               std::span<const std::int64_t> test, int threads) override;

private:
    PcaMethodOptions options_;
    std::int64_t parameters_ = -1;
};

} // namespace scx
