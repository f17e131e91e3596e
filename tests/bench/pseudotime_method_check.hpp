#pragma once
// Shared check of the methods that give an unsupervised pseudotime and nothing else (DPT,
// Palantir): the prediction's shape on the baseline test cells and its agreement with depth.

#include "scextract/bench/bench_method.hpp"
#include "scextract/stats/statistics.hpp"

#include "baseline_test_cells.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace scx::test {

/// Runs @p method (1 thread) and @p again (2 threads) on one split of @p tc; checks the name,
/// class, that only a pseudotime in [0, @p max_value] comes back for every test cell and that
/// the thread count changes nothing. Returns Spearman(pseudotime, depth) over labelled cells.
inline double check_pseudotime_only_method(BenchMethod& method, BenchMethod& again, const BaselineTestCells& tc,
                                           const std::string& name, double max_value) {
    const auto& cells = tc.cells;
    EXPECT_EQ(method.info().name, name);
    EXPECT_EQ(method.info().pseudotime, PseudotimeClass::unsupervised);
    EXPECT_EQ(method.info().trainable_parameters, 0);
    const auto p = method.run_split(cells, tc.train, tc.test, 1);
    EXPECT_EQ(p.pseudotime.size(), static_cast<Eigen::Index>(tc.test.size()));
    EXPECT_TRUE(p.stage.empty() && p.branch.empty() && p.binary_scores.empty() && p.latent.size() == 0);
    std::vector<double> t, d;
    for (std::size_t i = 0; i < tc.test.size() && static_cast<Eigen::Index>(i) < p.pseudotime.size(); ++i) {
        const double pt = p.pseudotime(static_cast<Eigen::Index>(i));
        EXPECT_TRUE(std::isfinite(pt) && pt >= 0.0 && pt <= max_value) << i << ": " << pt;
        const double depth = cells.depth[static_cast<std::size_t>(tc.test[i])];
        if (std::isnan(depth)) continue;
        t.push_back(pt);
        d.push_back(depth);
    }
    EXPECT_TRUE(again.run_split(cells, tc.train, tc.test, 2).pseudotime.cwiseEqual(p.pseudotime).all())
        << "thread count changed the result";
    return spearman(t, d);
}

} // namespace scx::test
