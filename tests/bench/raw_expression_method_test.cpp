#include "scextract/bench/raw_expression_method.hpp"

#include "baseline_test_cells.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <utility>
#include <vector>

namespace scx {
namespace {

TEST(RawExpressionMethod, RunSplitPredictsEveryEndpoint) {
    const auto tc = test::make_baseline_test_cells();
    const auto& cells = tc->cells;
    RawExpressionMethod method;
    EXPECT_EQ(method.info().name, "raw_panel");
    EXPECT_EQ(method.info().pseudotime, PseudotimeClass::supervised);
    EXPECT_EQ(method.info().trainable_parameters, -1);
    const auto p = method.run_split(cells, tc->train, tc->test, 1);
    const auto n = static_cast<Eigen::Index>(tc->test.size());
    const Eigen::Index g = 48;
    EXPECT_EQ(p.latent.rows(), n);
    EXPECT_EQ(p.latent.cols(), g);
    EXPECT_TRUE(p.latent == bench_panel_expression(cells, tc->test));
    EXPECT_EQ(p.pseudotime.size(), n);
    EXPECT_EQ(p.stage.size(), tc->test.size());
    EXPECT_EQ(p.branch.size(), tc->test.size());
    ASSERT_EQ(p.binary_scores.size(), 2U);
    EXPECT_EQ(p.binary_scores[0].size(), n);
    EXPECT_EQ(p.binary_scores[1].size(), n);
    // depth + stage (7 present) + branch (4 present) + two binary tasks, each k + 1 a class.
    EXPECT_EQ(method.info().trainable_parameters, (g + 1) * (1 + 7 + 4 + 2));

    // The pseudotime follows ruler depth on the test donor.
    double sxy = 0, sxx = 0, syy = 0, mx = 0, my = 0;
    std::vector<std::pair<double, double>> pairs;
    for (Eigen::Index i = 0; i < n; ++i) {
        const double d = cells.depth[static_cast<std::size_t>(tc->test[static_cast<std::size_t>(i)])];
        if (!std::isnan(d)) pairs.emplace_back(p.pseudotime[i], d);
    }
    for (const auto& [a, b] : pairs) mx += a, my += b;
    mx /= static_cast<double>(pairs.size());
    my /= static_cast<double>(pairs.size());
    for (const auto& [a, b] : pairs) sxy += (a - mx) * (b - my), sxx += (a - mx) * (a - mx), syy += (b - my) * (b - my);
    EXPECT_GT(sxy / std::sqrt(sxx * syy), 0.6); // markers are per stage, not graded by depth

    RawExpressionMethod two;
    const auto q = two.run_split(cells, tc->train, tc->test, 2);
    RawExpressionOptions named;
    named.name = "raw";
    EXPECT_EQ(RawExpressionMethod(named).info().name, "raw");
    EXPECT_TRUE(p.pseudotime == q.pseudotime);
    EXPECT_EQ(p.stage, q.stage);
    EXPECT_EQ(p.branch, q.branch);
    EXPECT_TRUE(p.binary_scores[0] == q.binary_scores[0]);
}

TEST(RawExpressionMethod, LatentCanBeDropped) {
    const auto tc = test::make_baseline_test_cells();
    RawExpressionOptions o;
    o.keep_latent = false;
    const auto p = RawExpressionMethod(o).run_split(tc->cells, tc->train, tc->test, 1);
    EXPECT_EQ(p.latent.size(), 0);
    EXPECT_EQ(p.stage.size(), tc->test.size());
}

} // namespace
} // namespace scx
