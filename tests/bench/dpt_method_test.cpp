#include "scextract/bench/dpt_method.hpp"

#include "pseudotime_method_check.hpp"

#include <gtest/gtest.h>

namespace scx {
namespace {

TEST(DptMethod, PseudotimePerHeldOutDonorFollowsDepth) {
    const auto tc = test::make_baseline_test_cells(600);
    const auto& cells = tc->cells;
    DptMethod method, again;
    // at most 2: cells outside the root's graph component
    EXPECT_GT(test::check_pseudotime_only_method(method, again, *tc, "dpt", 2.0), 0.3); // rooted at the earliest stage

    DptMethodOptions few;
    few.min_cells = static_cast<std::int64_t>(tc->test.size()) + 1;
    const auto none = DptMethod(few).run_split(cells, tc->train, tc->test, 1);
    EXPECT_TRUE(none.pseudotime.array().isNaN().all()) << "a donor below min_cells gets no pseudotime";
}

} // namespace
} // namespace scx
