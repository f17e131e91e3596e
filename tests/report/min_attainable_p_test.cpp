// Issue 19, item 8: the smallest p the bench's paired Wilcoxon test can give with n pairs.

#include "scextract/report/min_attainable_p.hpp"
#include "scextract/stats/statistics.hpp"

#include <vector>

#include <gtest/gtest.h>

namespace scx::report {
namespace {

TEST(MinAttainableP, ExactFloorIsTwoOverTwoToTheN) {
    EXPECT_DOUBLE_EQ(min_attainable_wilcoxon_p(5), 0.0625); // five donors: nothing below 0.05
    EXPECT_DOUBLE_EQ(min_attainable_wilcoxon_p(4), 0.125);
    EXPECT_DOUBLE_EQ(min_attainable_wilcoxon_p(6), 0.03125);
    EXPECT_DOUBLE_EQ(min_attainable_wilcoxon_p(1), 1.0);
    EXPECT_DOUBLE_EQ(min_attainable_wilcoxon_p(0), 1.0);
    EXPECT_GT(min_attainable_wilcoxon_p(51), 0);
    EXPECT_LT(min_attainable_wilcoxon_p(51), 1e-9);
}

TEST(MinAttainableP, MatchesTheTestTheBenchRuns) {
    // all differences of one sign and distinct: the most extreme outcome the test can see
    for (const int n : {2, 5, 8, 13, 30, 50, 60, 80}) {
        std::vector<double> d;
        for (int i = 1; i <= n; ++i) d.push_back(0.01 * i);
        const auto w = wilcoxon_signed_rank(d);
        EXPECT_NEAR(w.pvalue, min_attainable_wilcoxon_p(n), 1e-12 + 1e-9 * w.pvalue) << n << " pairs, " << w.method;
    }
}

} // namespace
} // namespace scx::report
