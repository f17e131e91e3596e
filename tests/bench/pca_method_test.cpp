#include "scextract/bench/pca_method.hpp"

#include "baseline_test_cells.hpp"

#include <gtest/gtest.h>

namespace scx {
namespace {

struct Variant {
    const char* name;
    bool center;
};

class PcaMethodVariants : public ::testing::TestWithParam<Variant> {};

TEST_P(PcaMethodVariants, RunSplitProjectsTestCellsAndPredicts) {
    const auto tc = test::make_baseline_test_cells();
    const auto& cells = tc->cells;
    PcaMethod method = GetParam().center ? PcaMethod::pca10() : PcaMethod::svd10();
    EXPECT_EQ(method.info().name, GetParam().name);
    EXPECT_EQ(method.info().pseudotime, PseudotimeClass::supervised);
    const auto p = method.run_split(cells, tc->train, tc->test, 1);
    const auto n = static_cast<Eigen::Index>(tc->test.size());
    EXPECT_EQ(p.latent.rows(), n);
    EXPECT_EQ(p.latent.cols(), 10);
    EXPECT_EQ(p.pseudotime.size(), n);
    EXPECT_EQ(p.stage.size(), tc->test.size());
    EXPECT_EQ(p.branch.size(), tc->test.size());
    ASSERT_EQ(p.binary_scores.size(), 2U);
    EXPECT_EQ(p.binary_scores[0].size(), n);
    EXPECT_EQ(p.binary_scores[1].size(), n);

    // The latent is the projection fitted on the mapped training cells.
    const auto rows = mapped_rows(cells, tc->train);
    PcaProjectionOptions po;
    po.center = GetParam().center;
    const auto fit = fit_pca_projection(bench_panel_expression(cells, rows), po);
    EXPECT_TRUE(p.latent == fit.projection.transform(bench_panel_expression(cells, tc->test)));
    const std::int64_t g = 48, k = 10;
    EXPECT_EQ(method.info().trainable_parameters,
              k * g + (GetParam().center ? g : 0) + (k + 1) * (1 + 7 + 4 + 2));

    std::int64_t right = 0, mapped = 0;
    for (std::size_t i = 0; i < tc->test.size(); ++i) {
        const auto truth = cells.branch[static_cast<std::size_t>(tc->test[i])];
        if (cells.stage[static_cast<std::size_t>(tc->test[i])] < 0) continue;
        ++mapped;
        right += p.branch[i] == truth;
    }
    EXPECT_GT(static_cast<double>(right), 0.8 * static_cast<double>(mapped));

    PcaMethod again = GetParam().center ? PcaMethod::pca10() : PcaMethod::svd10();
    const auto q = again.run_split(cells, tc->train, tc->test, 2);
    EXPECT_TRUE(p.latent == q.latent);
    EXPECT_TRUE(p.pseudotime == q.pseudotime);
    EXPECT_EQ(p.stage, q.stage);
    EXPECT_TRUE(p.binary_scores[1] == q.binary_scores[1]);
}

INSTANTIATE_TEST_SUITE_P(Baselines, PcaMethodVariants,
                         ::testing::Values(Variant{"pca10", true}, Variant{"svd10", false}),
                         [](const auto& info) { return std::string(info.param.name); });

} // namespace
} // namespace scx
