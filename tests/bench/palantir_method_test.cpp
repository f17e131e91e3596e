#include "scextract/bench/palantir_method.hpp"

#include "pseudotime_method_check.hpp"

#include <gtest/gtest.h>

namespace scx {
namespace {

TEST(PalantirMethod, PseudotimePerHeldOutDonorFollowsDepth) {
    const auto tc = test::make_baseline_test_cells(600);
    PalantirMethod method, again;
    // at most 1: Palantir joins every cell to the graph, nothing is unreachable. The order is
    // weakly positive on these cells, whose markers are per stage and not graded by depth (the
    // fixture test checks the algorithm itself).
    EXPECT_GT(test::check_pseudotime_only_method(method, again, *tc, "palantir", 1.0), 0.05);
}

} // namespace
} // namespace scx
