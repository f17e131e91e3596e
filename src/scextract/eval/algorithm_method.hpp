#pragma once
/// @file algorithm_method.hpp
/// @brief The extracted algorithm as a benchmarked method: per split, `fit` on the training
/// cells (features -> standardiser -> Stage 2 adaptor -> Stage 3 readouts) and model-free
/// `apply` on the test cells - the very library calls the CLI makes.

#include "scextract/core/feature_operator.hpp"
#include "scextract/eval/bench_method.hpp"
#include "scextract/readout/algorithm_pipeline.hpp"

#include <string>

namespace scx {

class AlgorithmMethod final : public BenchMethod {
public:
    /// @p name e.g. "scextract" or a control's name ("identity", "matched_spectrum").
    AlgorithmMethod(std::string name, std::string description, FeatureOperator features,
                    AlgorithmFitOptions options = {});
    [[nodiscard]] MethodInfo info() const override;
    MethodPrediction run_split(const BenchCells& cells, std::span<const std::int64_t> train,
                               std::span<const std::int64_t> test, int threads) override;

private:
    std::string name_, description_;
    FeatureOperator features_;
    AlgorithmFitOptions options_;
    std::int64_t parameters_ = -1; ///< from the last fit
};

} // namespace scx
