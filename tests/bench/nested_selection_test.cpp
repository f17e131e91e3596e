// Nested selection on training donors: the better candidate is chosen, no fold ever sees a
// held-out (test) cell, and the chosen candidate then runs on the split's own cells.

#include "scextract/bench/nested_selection.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/random.hpp"

#include "baseline_test_cells.hpp"

#include <gtest/gtest.h>

#include <set>

namespace scx {
namespace {

/// Predicts the truth (good) or seeded noise (bad) and records every cell it was asked about.
class SpyMethod final : public BenchMethod {
public:
    SpyMethod(std::string name, bool truth, std::set<std::int64_t>* seen) : name_(std::move(name)), truth_(truth), seen_(seen) {}
    [[nodiscard]] MethodInfo info() const override { return {name_, "spy", PseudotimeClass::supervised, 1}; }
    MethodPrediction run_split(const BenchCells& c, std::span<const std::int64_t> train, std::span<const std::int64_t> test, int) override {
        for (const auto i : test) seen_->insert(i);
        ++calls;
        (void)train;
        Rng rng(3, test.size());
        MethodPrediction p;
        p.pseudotime.resize(static_cast<Eigen::Index>(test.size()));
        for (std::size_t k = 0; k < test.size(); ++k) {
            const auto i = static_cast<std::size_t>(test[k]);
            p.pseudotime(static_cast<Eigen::Index>(k)) = truth_ ? (std::isnan(c.depth[i]) ? 0.0 : c.depth[i]) : rng.normal();
            p.stage.push_back(truth_ ? c.stage[i] : static_cast<std::int64_t>(rng.below(c.ruler->stages.size())));
            p.branch.push_back(truth_ ? c.branch[i] : static_cast<std::int64_t>(rng.below(c.ruler->branches.size())));
        }
        return p;
    }
    int calls = 0;

private:
    std::string name_;
    bool truth_;
    std::set<std::int64_t>* seen_;
};

TEST(NestedSelection, ChoosesTheBetterCandidateOnTrainingDonorsOnly) {
    const auto tc = test::make_baseline_test_cells(420);
    std::set<std::int64_t> seen_by_noise, seen_by_truth;
    std::vector<std::unique_ptr<BenchMethod>> candidates;
    candidates.push_back(std::make_unique<SpyMethod>("noise", false, &seen_by_noise));
    candidates.push_back(std::make_unique<SpyMethod>("truth", true, &seen_by_truth));
    auto* noise = static_cast<SpyMethod*>(candidates[0].get());
    auto* truth = static_cast<SpyMethod*>(candidates[1].get());

    NestedSelectionOptions two_folds;
    two_folds.folds = 2;
    const auto r = select_on_training_donors(tc->cells, tc->train, candidates, two_folds, 1);
    EXPECT_EQ(r.folds, 2);
    EXPECT_EQ(r.chosen, 1);
    EXPECT_GT(r.score[1], r.score[0] + 0.3);
    EXPECT_EQ(noise->calls, 2);
    const std::set<std::int64_t> test_cells(tc->test.begin(), tc->test.end());
    for (const auto i : seen_by_noise) EXPECT_FALSE(test_cells.contains(i)) << "a fold predicted held-out cell " << i;
    EXPECT_EQ(seen_by_noise.size(), tc->train.size()); // each training cell is predicted once, by its fold

    NestedSelectionMethod method("selected", std::move(candidates), two_folds);
    const auto p = method.run_split(tc->cells, tc->train, tc->test, 1);
    EXPECT_EQ(p.stage.size(), tc->test.size());
    ASSERT_EQ(method.choices().size(), 1U);
    EXPECT_EQ(method.choices()[0], "truth");
    EXPECT_NE(method.split_note().find("chose truth"), std::string::npos) << method.split_note();
    EXPECT_EQ(noise->calls, 4); // two more folds, never the split's test cells
    EXPECT_EQ(truth->calls, 5); // two folds twice, then the split itself
}

TEST(NestedSelection, RefusesASingleTrainingDonor) {
    const auto tc = test::make_baseline_test_cells();
    std::vector<std::int64_t> one;
    for (const auto i : tc->train)
        if (tc->cells.donor[static_cast<std::size_t>(i)] == 0) one.push_back(i);
    std::set<std::int64_t> seen;
    std::vector<std::unique_ptr<BenchMethod>> candidates;
    candidates.push_back(std::make_unique<SpyMethod>("a", true, &seen));
    candidates.push_back(std::make_unique<SpyMethod>("b", false, &seen));
    EXPECT_THROW((void)select_on_training_donors(tc->cells, one, candidates, {}, 1), Error);
}

} // namespace
} // namespace scx
