#include "scextract/bench/scvi_method.hpp"

#include "baseline_test_cells.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace scx {
namespace {

TEST(ScviMethod, LatentReadoutsAndLatentDistancePseudotime) {
    const auto tc = test::make_baseline_test_cells(600);
    const auto& cells = tc->cells;
    ScviMethodOptions o;
    o.scvi.max_epochs = 30;
    ScviMethod method(o);
    EXPECT_EQ(method.info().name, "scvi");
    EXPECT_EQ(method.info().pseudotime, PseudotimeClass::unsupervised);
    const auto p = method.run_split(cells, tc->train, tc->test, 1);
    const auto n = static_cast<Eigen::Index>(tc->test.size());
    EXPECT_EQ(p.latent.rows(), n);
    EXPECT_EQ(p.latent.cols(), 10);
    EXPECT_EQ(p.stage.size(), tc->test.size());
    EXPECT_EQ(p.branch.size(), tc->test.size());
    ASSERT_EQ(p.binary_scores.size(), cells.binary_tasks.size());
    ASSERT_EQ(p.pseudotime.size(), n);
    std::int64_t right = 0, labelled = 0;
    for (std::size_t i = 0; i < tc->test.size(); ++i) {
        const auto cell = static_cast<std::size_t>(tc->test[i]);
        const double pt = p.pseudotime(static_cast<Eigen::Index>(i));
        ASSERT_TRUE(pt >= 0.0 && pt <= 1.0) << pt;
        if (cells.stage[cell] < 0) continue;
        ++labelled;
        right += p.stage[i] == cells.stage[cell];
    }
    EXPECT_GT(static_cast<double>(right) / static_cast<double>(labelled), 0.5); // 7 stages: chance is ~0.14
    // distance from the donor's root: the root itself is at 0 and some cell at 1. (No claim on
    // the order: these cells' markers are per stage, not graded by depth.)
    EXPECT_EQ(p.pseudotime.minCoeff(), 0.0);
    EXPECT_EQ(p.pseudotime.maxCoeff(), 1.0);
    // VAE: 48*128+128 + 2*128 + 2*(128*10+10) + 10*128+128 + 2*128 + 2*(48*128+48) + 48; plus readouts
    const std::int64_t vae = 48 * 128 + 128 + 256 + 2 * (1280 + 10) + 1280 + 128 + 256 + 2 * (48 * 128 + 48) + 48;
    EXPECT_GT(method.info().trainable_parameters, vae);
    const auto q = ScviMethod(o).run_split(cells, tc->train, tc->test, 2);
    EXPECT_TRUE(q.latent == p.latent) << "thread count changed the result";
}

} // namespace
} // namespace scx
