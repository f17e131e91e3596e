#pragma once
/// @file algorithm.hpp
/// @brief The extracted algorithm as plain data (METHOD.md, Stage 3: "panel + operator (or
/// its compressed form) + standardiser + adaptor + readouts, in one file"). Written and read
/// by io/algorithm_file.hpp; fitted and applied by readout/algorithm_pipeline.hpp.

#include "scextract/core/dense.hpp"
#include "scextract/core/feature_operator.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

/// One linear readout on the latent: outputs = W z + b.
struct AlgorithmReadout {
    std::string task;                 ///< "depth", "branch", "stage", "cd4_cd8", "mono_macro"
    std::string kind;                 ///< "regression" (1 output), "softmax" (one row per class) or "binary" (1 logit)
    RowMatrixF W;                     ///< outputs x k
    Eigen::VectorXf b;                ///< outputs
    std::vector<std::string> classes; ///< softmax: one per row; binary: {negative, positive}
    [[nodiscard]] std::int64_t parameter_count() const { return W.size() + b.size(); }
};

/// Everything apply needs, and nothing from the foundation model.
struct Algorithm {
    FeatureOperator features;       ///< panel genes and the (compressed) operator
    double target_sum = 1e4;        ///< normalize_total target of the panel expression
    Eigen::VectorXf feature_mean;   ///< standardiser, per feature
    Eigen::VectorXf feature_sd;
    RowMatrixF adaptor_W;           ///< k x D: z = W (f - b)
    Eigen::VectorXf adaptor_b;      ///< D
    double adaptor_beta = 1.0;      ///< the fitted scale of arc distances to ruler units
    std::vector<AlgorithmReadout> readouts;
    std::string ruler_json;         ///< the ruler the algorithm was fitted to
    std::string provenance_json;    ///< how it was made (JSON object text)

    [[nodiscard]] std::int64_t latent_dim() const { return adaptor_W.rows(); }
    [[nodiscard]] const AlgorithmReadout* readout(const std::string& task) const {
        for (const auto& r : readouts)
            if (r.task == task) return &r;
        return nullptr;
    }
};

} // namespace scx
