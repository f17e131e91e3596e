#include "scextract/bench/per_donor_pseudotime.hpp"

#include "baseline_test_cells.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <span>
#include <vector>

namespace scx {
namespace {

TEST(PerDonorPseudotime, RootIsTheMedoidOfTheEarliestStage) {
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

TEST(PerDonorPseudotime, RunsTheToolPerDonorAndMarksWhatItCannotReach) {
    const auto tc = test::make_baseline_test_cells(600);
    const auto& cells = tc->cells;
    // the test rows of two donors, interleaved: each donor's call sees only its own cells
    std::vector<std::int64_t> test;
    for (std::size_t i = 0; i < tc->test.size(); ++i) test.push_back(tc->test[i]);
    for (std::size_t i = 0; i < tc->train.size(); i += 2) test.push_back(tc->train[i]);
    std::vector<std::int64_t> donors_seen;
    const auto t = per_donor_pseudotime(cells, test, 10, [&](std::span<const std::int64_t> positions, const RowMatrixF& x,
                                                               std::int64_t root, int) {
        EXPECT_EQ(x.rows(), static_cast<Eigen::Index>(positions.size()));
        const auto donor = cells.donor[static_cast<std::size_t>(test[static_cast<std::size_t>(positions[0])])];
        for (const auto pos : positions) EXPECT_EQ(cells.donor[static_cast<std::size_t>(test[static_cast<std::size_t>(pos)])], donor);
        donors_seen.push_back(donor);
        Eigen::VectorXd v = Eigen::VectorXd::Constant(x.rows(), 0.5);
        v(root) = 0.0;
        v(0) = root == 0 ? 0.0 : std::numeric_limits<double>::infinity(); // one cell the tool cannot reach
        return v;
    }, 1);
    EXPECT_EQ(donors_seen.size(), 3U); // d2 (test) and d0, d1 (every other training cell)
    ASSERT_EQ(t.size(), static_cast<Eigen::Index>(test.size()));
    EXPECT_TRUE((t.array() == 0.0 || t.array() == 0.5 || t.array() == 2.0).all()) << "+inf becomes 2";
    const auto none = per_donor_pseudotime(cells, test, static_cast<std::int64_t>(test.size()) + 1,
                                           [](std::span<const std::int64_t>, const RowMatrixF& x, std::int64_t, int) {
                                               return Eigen::VectorXd::Zero(x.rows()).eval();
                                           },
                                           1);
    EXPECT_TRUE(none.array().isNaN().all()) << "donors below min_cells get NaN";
}

} // namespace
} // namespace scx
