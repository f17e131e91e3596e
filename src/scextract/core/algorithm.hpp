#pragma once
/// @file algorithm.hpp
/// @brief The extracted algorithm as plain data (METHOD.md, Stage 3: "panel + operator (or
/// its compressed form) + standardiser + adaptor + readouts, in one file"). Written and read
/// by io/algorithm_file.hpp; fitted and applied by readout/algorithm_pipeline.hpp.

#include "scextract/core/dense.hpp"
#include "scextract/core/feature_operator.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
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

/// Where the training cells lay, for flagging out-of-distribution cells in apply (issue 19).
/// A cell is out of distribution when its reconstruction error (the adaptor's tied
/// autoencoder error on the standardised features) is above the training 99th percentile,
/// or when it detects fewer panel genes than all but 1% of the training cells: too few
/// detected genes (another assay, another species' symbols, shallow cells) is how a panel
/// fails, so only the low side of the detected fraction is a bound. By construction about
/// 1-2% of training-like cells are flagged. Algorithm files written before these bounds
/// existed read with training_cells = 0: OOD is then unavailable.
struct AlgorithmOodBounds {
    double reconstruction_error_p99 = std::numeric_limits<double>::quiet_NaN();
    double detected_fraction_p1 = std::numeric_limits<double>::quiet_NaN();
    double reconstruction_error_mean = std::numeric_limits<double>::quiet_NaN(); ///< for context in reports
    std::int64_t training_cells = 0; ///< cells the percentiles were taken over; 0: none stored

    [[nodiscard]] bool available() const { return training_cells > 0; }
    [[nodiscard]] bool reconstruction_out(double error) const { return !(error <= reconstruction_error_p99); }
    [[nodiscard]] bool detected_out(double fraction) const { return fraction < detected_fraction_p1; }
    /// Out of distribution by either criterion (a NaN error counts as out); false when unavailable.
    [[nodiscard]] bool out_of_distribution(double error, double fraction) const {
        return available() && (reconstruction_out(error) || detected_out(fraction));
    }
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
    AlgorithmOodBounds ood;         ///< training bounds for apply's out-of-distribution flag

    [[nodiscard]] std::int64_t latent_dim() const { return adaptor_W.rows(); }
    [[nodiscard]] const AlgorithmReadout* readout(const std::string& task) const {
        for (const auto& r : readouts)
            if (r.task == task) return &r;
        return nullptr;
    }
};

} // namespace scx
