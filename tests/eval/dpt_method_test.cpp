#include "scextract/eval/dpt_method.hpp"
#include "scextract/eval/per_donor_pseudotime.hpp"

#include "scextract/eval/statistics.hpp"

#include "baseline_test_cells.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace scx {
namespace {

TEST(DptMethod, RootIsTheMedoidOfTheEarliestStage) {
    const auto tc = test::make_baseline_test_cells();
    const auto& cells = tc->cells;
    const auto x = bench_panel_expression(cells, tc->test);
    const auto root = pseudotime_root_cell(cells, tc->test, x);
    ASSERT_GE(root, 0);
    double earliest = INFINITY;
    std::vector<std::int64_t> candidates;
    for (const auto r : tc->test)
        if (cells.stage[static_cast<std::size_t>(r)] >= 0) earliest = std::min(earliest, cells.depth[static_cast<std::size_t>(r)]);
    EXPECT_EQ(cells.depth[static_cast<std::size_t>(tc->test[static_cast<std::size_t>(root)])], earliest);
    for (std::size_t i = 0; i < tc->test.size(); ++i)
        if (cells.depth[static_cast<std::size_t>(tc->test[i])] == earliest) candidates.push_back(static_cast<std::int64_t>(i));
    ASSERT_GE(candidates.size(), 2U);
    const auto spread = [&](std::int64_t a) {
        double s = 0;
        for (const auto b : candidates) s += std::sqrt((x.row(a) - x.row(b)).cast<double>().squaredNorm());
        return s;
    };
    for (const auto c : candidates) EXPECT_LE(spread(root), spread(c));

    // without the earliest stage, the next earliest stage roots; without any stage, none
    std::vector<std::int64_t> later;
    for (const auto r : tc->test)
        if (cells.depth[static_cast<std::size_t>(r)] > earliest) later.push_back(r);
    const auto xl = bench_panel_expression(cells, later);
    const auto later_root = pseudotime_root_cell(cells, later, xl);
    ASSERT_GE(later_root, 0);
    EXPECT_GT(cells.depth[static_cast<std::size_t>(later[static_cast<std::size_t>(later_root)])], earliest);
    std::vector<std::int64_t> unmapped;
    for (const auto r : tc->test)
        if (cells.stage[static_cast<std::size_t>(r)] < 0) unmapped.push_back(r);
    if (!unmapped.empty()) EXPECT_EQ(pseudotime_root_cell(cells, unmapped, bench_panel_expression(cells, unmapped)), -1);
}

TEST(DptMethod, PseudotimePerHeldOutDonorFollowsDepth) {
    const auto tc = test::make_baseline_test_cells(600);
    const auto& cells = tc->cells;
    DptMethod method;
    EXPECT_EQ(method.info().name, "dpt");
    EXPECT_EQ(method.info().pseudotime, PseudotimeClass::unsupervised);
    EXPECT_EQ(method.info().trainable_parameters, 0);
    const auto p = method.run_split(cells, tc->train, tc->test, 1);
    ASSERT_EQ(p.pseudotime.size(), static_cast<Eigen::Index>(tc->test.size()));
    EXPECT_TRUE(p.stage.empty() && p.branch.empty() && p.binary_scores.empty() && p.latent.size() == 0);
    std::vector<double> t, d;
    for (std::size_t i = 0; i < tc->test.size(); ++i) {
        const double pt = p.pseudotime(static_cast<Eigen::Index>(i));
        ASSERT_TRUE(std::isfinite(pt));
        EXPECT_GE(pt, 0.0);
        EXPECT_LE(pt, 2.0);
        const double depth = cells.depth[static_cast<std::size_t>(tc->test[i])];
        if (std::isnan(depth)) continue;
        t.push_back(pt);
        d.push_back(depth);
    }
    EXPECT_GT(spearman(t, d), 0.3); // rooted at the earliest stage: pseudotime grows with depth
    const auto q = DptMethod().run_split(cells, tc->train, tc->test, 2);
    EXPECT_TRUE(p.pseudotime.cwiseEqual(q.pseudotime).all()) << "thread count changed the result";

    DptMethodOptions few;
    few.min_cells = static_cast<std::int64_t>(tc->test.size()) + 1;
    const auto none = DptMethod(few).run_split(cells, tc->train, tc->test, 1);
    EXPECT_TRUE(none.pseudotime.array().isNaN().all()) << "a donor below min_cells gets no pseudotime";
}

} // namespace
} // namespace scx
