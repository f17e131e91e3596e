// The CellTypist baseline as a bench method: stages, branches and binary-task scores from
// CellTypist's fit (tests/baselines/celltypist_test.cpp checks the fit itself).

#include "scextract/bench/celltypist_method.hpp"

#include "baseline_test_cells.hpp"

#include <gtest/gtest.h>

#include <cstddef>

namespace scx {
namespace {

TEST(CellTypistMethod, RunSplitGivesStagesBranchesAndTaskScores) {
    const auto tc = test::make_baseline_test_cells();
    const auto& cells = tc->cells;
    ASSERT_EQ(cells.binary_tasks.size(), 2U);
    CellTypistMethod method;
    EXPECT_EQ(method.info().name, "celltypist");
    EXPECT_EQ(method.info().pseudotime, PseudotimeClass::none);
    EXPECT_EQ(method.info().trainable_parameters, -1);
    const auto p = method.run_split(cells, tc->train, tc->test, 1);
    const auto n = static_cast<Eigen::Index>(tc->test.size());
    EXPECT_EQ(p.pseudotime.size(), 0);
    EXPECT_EQ(p.latent.rows(), n);
    EXPECT_EQ(p.latent.cols(), 7); // decision scores: the seven stages present
    ASSERT_EQ(p.stage.size(), tc->test.size());
    ASSERT_EQ(p.branch.size(), tc->test.size());
    ASSERT_EQ(p.binary_scores.size(), 2U);
    std::int64_t right = 0, mapped = 0;
    for (std::size_t i = 0; i < tc->test.size(); ++i) {
        const auto& stage = cells.ruler->stages[static_cast<std::size_t>(p.stage[i])];
        EXPECT_EQ(cells.ruler->branches[static_cast<std::size_t>(p.branch[i])], stage.branch);
        const auto truth = cells.stage[static_cast<std::size_t>(tc->test[i])];
        if (truth < 0) continue;
        ++mapped;
        right += p.stage[i] == truth;
    }
    EXPECT_GT(static_cast<double>(right), 0.9 * static_cast<double>(mapped));
    for (std::size_t t = 0; t < 2; ++t) {
        ASSERT_EQ(p.binary_scores[t].size(), n);
        EXPECT_GE(p.binary_scores[t].minCoeff(), 0.0);
        EXPECT_LE(p.binary_scores[t].maxCoeff(), 1.0);
        // The renormalised one-vs-rest probabilities separate the task's two sides.
        double pos = 0, neg = 0;
        std::int64_t n_pos = 0, n_neg = 0;
        for (Eigen::Index i = 0; i < n; ++i) {
            const auto l = cells.binary_tasks[t].label[static_cast<std::size_t>(tc->test[static_cast<std::size_t>(i)])];
            if (l == 1) pos += p.binary_scores[t][i], ++n_pos;
            if (l == 0) neg += p.binary_scores[t][i], ++n_neg;
        }
        EXPECT_GT(pos / static_cast<double>(n_pos), 0.8);
        EXPECT_LT(neg / static_cast<double>(n_neg), 0.2);
    }
    EXPECT_EQ(method.info().trainable_parameters, 7 * (48 + 1));

    const auto q = CellTypistMethod().run_split(cells, tc->train, tc->test, 2);
    EXPECT_TRUE(p.latent == q.latent);
    EXPECT_EQ(p.stage, q.stage);
    for (std::size_t t = 0; t < 2; ++t) EXPECT_TRUE(p.binary_scores[t] == q.binary_scores[t]);
}

TEST(CellTypistMethod, TaskWithTooFewTrainingCellsIsNotScored) {
    const auto tc = test::make_baseline_test_cells();
    CellTypistMethodOptions o;
    o.min_binary_cells = 1000;
    const auto p = CellTypistMethod(o).run_split(tc->cells, tc->train, tc->test, 1);
    ASSERT_EQ(p.binary_scores.size(), 2U);
    EXPECT_EQ(p.binary_scores[0].size(), 0);
    EXPECT_EQ(p.binary_scores[1].size(), 0);
    EXPECT_EQ(p.stage.size(), tc->test.size());
}

} // namespace
} // namespace scx
