#pragma once
/// @file nested_selection.hpp
/// @brief Choosing among configurations on training donors only (issue 17: "the held-out
/// donors never choose anything"). Inside one split's training cells the donors are dealt
/// into seeded folds; every candidate is fitted on the other folds and scored on each fold
/// with the benchmark's endpoints; the candidate with the highest mean score is then fitted
/// on all training cells and applied to the test cells.
///
/// The score of a candidate is the mean over folds of the mean over endpoints of the fold's
/// value (endpoints without a value on a fold are left out of that fold's mean). All
/// endpoints are "higher is better" on one scale [0, 1], so the plain mean weighs them
/// alike; ties go to the earlier candidate.

#include "scextract/bench/bench_method.hpp"
#include "scextract/bench/endpoints.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace scx {

struct NestedSelectionOptions {
    std::int64_t folds = 3;        ///< donor folds inside the training cells (fewer when fewer donors)
    std::uint64_t seed = 42;       ///< deals the training donors into folds
    std::vector<std::string> endpoints; ///< endpoint names scored (empty: all the cells support)
    EndpointOptions endpoint_options;
};

/// The options of a "select" method entry of a bench config: folds (at least 2), seed and endpoints
/// (a list of names, checked against the cells by the caller). The entry's 'candidates' must list
/// at least two methods; building them is the caller's. @p where starts every error message (file
/// and JSON path); throws scx::Error on a bad value or an unknown key.
NestedSelectionOptions nested_selection_options_from_json(const nlohmann::ordered_json& params, const std::string& where);

struct NestedSelectionResult {
    std::int64_t chosen = 0;         ///< index into the candidates
    std::vector<double> score;       ///< per candidate: mean over folds of the mean endpoint value
    std::int64_t folds = 0;          ///< folds used
};

/// Scores every candidate on donor folds of @p train (cell indices) and returns the best.
/// Throws scx::Error when @p train holds fewer than two donors (nothing to hold out) or no
/// candidate is given.
NestedSelectionResult select_on_training_donors(const BenchCells& cells, std::span<const std::int64_t> train,
                                                std::span<const std::unique_ptr<BenchMethod>> candidates,
                                                const NestedSelectionOptions& options, int threads);

/// A bench method that runs select_on_training_donors() in every split and then the chosen
/// candidate on the split's own training and test cells. choices() says what was chosen.
class NestedSelectionMethod final : public BenchMethod {
public:
    NestedSelectionMethod(std::string name, std::vector<std::unique_ptr<BenchMethod>> candidates,
                          NestedSelectionOptions options);
    /// The first candidate's pseudotime class (every candidate must share it); parameters of the last chosen fit.
    [[nodiscard]] MethodInfo info() const override;
    void prepare(const BenchCells& cells, int threads) override;
    MethodPrediction run_split(const BenchCells& cells, std::span<const std::int64_t> train,
                               std::span<const std::int64_t> test, int threads) override;
    /// Per split run so far: the chosen candidate's name.
    [[nodiscard]] const std::vector<std::string>& choices() const { return choices_; }
    /// "chose NAME (scores a, b, ...)" for the last split.
    [[nodiscard]] std::string split_note() const override { return note_; }

private:
    std::string name_;
    std::vector<std::unique_ptr<BenchMethod>> candidates_;
    NestedSelectionOptions options_;
    std::vector<std::string> choices_;
    std::string note_;
    std::int64_t parameters_ = -1;
};

} // namespace scx
