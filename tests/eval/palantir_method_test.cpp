#include "scextract/eval/palantir_method.hpp"

#include "scextract/eval/statistics.hpp"

#include "baseline_test_cells.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace scx {
namespace {

TEST(PalantirMethod, PseudotimePerHeldOutDonorFollowsDepth) {
    const auto tc = test::make_baseline_test_cells(600);
    const auto& cells = tc->cells;
    PalantirMethod method;
    EXPECT_EQ(method.info().name, "palantir");
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
        EXPECT_LE(pt, 1.0); // Palantir joins every cell to the graph: nothing is unreachable
        const double depth = cells.depth[static_cast<std::size_t>(tc->test[i])];
        if (std::isnan(depth)) continue;
        t.push_back(pt);
        d.push_back(depth);
    }
    // positive: started at the earliest stage. Weak on these cells, whose markers are per
    // stage and not graded by depth (the fixture test checks the algorithm itself)
    EXPECT_GT(spearman(t, d), 0.05);
    const auto q = PalantirMethod().run_split(cells, tc->train, tc->test, 2);
    EXPECT_TRUE(p.pseudotime.cwiseEqual(q.pseudotime).all()) << "thread count changed the result";
}

} // namespace
} // namespace scx
