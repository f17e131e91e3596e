// The extracted algorithm as a bench method, and the ablation ladder's rungs: with no
// bottleneck on the identity operator a rung is the raw-panel baseline; the PCA and
// adaptor bottlenecks, the z / |z| latent and the MLP readouts each give what they say,
// for any thread count.

#include "scextract/bench/algorithm_method.hpp"

#include "scextract/core/error.hpp"
#include "scextract/bench/raw_expression_method.hpp"
#include "scextract/extract/compress.hpp"
#include "scextract/extract/control_operators.hpp"

#include "baseline_test_cells.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace scx {
namespace {

AlgorithmMethod rung(const BenchCells& cells, AlgorithmLadderOptions ladder, AdaptorVariant variant = AdaptorVariant::anchor) {
    AlgorithmFitOptions fit;
    fit.adaptor = adaptor_options(variant);
    fit.adaptor.epochs = variant == AdaptorVariant::anchor ? 300 : 40; // small problem: the loss settles early
    return AlgorithmMethod("rung", "test rung", identity_operator(cells.panel), fit, ladder);
}

TEST(AlgorithmMethodLadder, NoBottleneckOnTheIdentityIsTheRawPanelBaseline) {
    const auto tc = test::make_baseline_test_cells();
    auto method = rung(tc->cells, {.bottleneck = LadderBottleneck::none});
    const auto p = method.run_split(tc->cells, tc->train, tc->test, 1);
    RawExpressionMethod raw;
    const auto q = raw.run_split(tc->cells, tc->train, tc->test, 1);
    ASSERT_EQ(p.pseudotime.size(), q.pseudotime.size());
    // the same standardised features and readouts; only where the standardiser rounds differs
    EXPECT_LT((p.pseudotime - q.pseudotime).cwiseAbs().maxCoeff(), 1e-3 * q.pseudotime.cwiseAbs().maxCoeff());
    EXPECT_EQ(p.stage, q.stage);
    EXPECT_EQ(p.branch, q.branch);
    ASSERT_EQ(p.binary_scores.size(), q.binary_scores.size());
    for (std::size_t t = 0; t < p.binary_scores.size(); ++t)
        EXPECT_LT((p.binary_scores[t] - q.binary_scores[t]).cwiseAbs().maxCoeff(), 1e-3);
    EXPECT_EQ(method.info().trainable_parameters, raw.info().trainable_parameters);
}

TEST(AlgorithmMethodLadder, BottlenecksLatentsAndReadoutsDoWhatTheySay) {
    const auto tc = test::make_baseline_test_cells();
    const auto& cells = tc->cells;
    const auto n = static_cast<Eigen::Index>(tc->test.size());
    const Eigen::Index g = 48;

    auto pca = rung(cells, {.bottleneck = LadderBottleneck::pca, .pca_components = 6});
    const auto pp = pca.run_split(cells, tc->train, tc->test, 1);
    EXPECT_EQ(pp.latent.cols(), 6);
    // components and mean of the projection, then depth + stage (7) + branch (4) + 2 binary readouts on 6-D
    EXPECT_EQ(pca.info().trainable_parameters, 6 * g + g + 7 * (1 + 7 + 4 + 2));

    auto unit = rung(cells, {.latent = LadderLatent::unit});
    const auto pu = unit.run_split(cells, tc->train, tc->test, 1);
    ASSERT_EQ(pu.latent.rows(), n);
    EXPECT_EQ(pu.latent.cols(), 10);
    for (Eigen::Index i = 0; i < n; ++i) EXPECT_NEAR(pu.latent.row(i).norm(), 1.0, 1e-5);
    // the adaptor (k D + D + 1) and linear readouts on the 10-D latent
    EXPECT_EQ(unit.info().trainable_parameters, 10 * g + g + 1 + 11 * (1 + 7 + 4 + 2));

    auto mlp = rung(cells, {.readout = LadderReadout::mlp}, AdaptorVariant::cell);
    const auto pm = mlp.run_split(cells, tc->train, tc->test, 1);
    EXPECT_EQ(pm.pseudotime.size(), n);
    EXPECT_EQ(pm.stage.size(), tc->test.size());
    ASSERT_EQ(pm.binary_scores.size(), 2U);
    // one 10 -> 64 -> C probe per task: depth 1 output, stage 7, branch 4, binary 1 each
    const std::int64_t body = 10 * 64 + 64;
    EXPECT_EQ(mlp.info().trainable_parameters, 10 * g + g + 1 + 5 * body + 65 * (1 + 7 + 4 + 1 + 1));
    // the probes learn: the pseudotime follows depth on the held-out donor
    std::vector<double> a, b;
    for (Eigen::Index i = 0; i < n; ++i) {
        const double d = cells.depth[static_cast<std::size_t>(tc->test[static_cast<std::size_t>(i)])];
        if (!std::isnan(d)) a.push_back(pm.pseudotime[i]), b.push_back(d);
    }
    const Eigen::Map<const Eigen::ArrayXd> x(a.data(), static_cast<Eigen::Index>(a.size())), y(b.data(), static_cast<Eigen::Index>(b.size()));
    const double r = ((x - x.mean()) * (y - y.mean())).sum() / std::sqrt((x - x.mean()).square().sum() * (y - y.mean()).square().sum());
    EXPECT_GT(r, 0.5);

    // every rung gives the same bits for any thread count
    for (auto* m : {&pca, &unit, &mlp}) {
        const auto one = m->run_split(cells, tc->train, tc->test, 1);
        const auto two = m->run_split(cells, tc->train, tc->test, 2);
        EXPECT_TRUE(one.latent == two.latent);
        EXPECT_TRUE(one.pseudotime == two.pseudotime);
        EXPECT_EQ(one.stage, two.stage);
    }
}

TEST(AlgorithmMethodLadder, RefusesAnOperatorOffTheSharedPanel) {
    const auto tc = test::make_baseline_test_cells();
    auto genes = tc->cells.panel;
    std::swap(genes[0], genes[1]);
    AlgorithmMethod method("off_panel", "", identity_operator(genes), {}, {.bottleneck = LadderBottleneck::none});
    try {
        (void)method.run_split(tc->cells, tc->train, tc->test, 1);
        FAIL() << "a rung on another panel ran";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("shared panel"), std::string::npos) << e.what();
    }
}

TEST(AlgorithmMethodLadder, AnchorAdaptorRefusesASingleDonor) {
    const auto tc = test::make_baseline_test_cells();
    std::vector<std::int64_t> one_donor;
    for (const auto i : tc->train)
        if (tc->cells.donor[static_cast<std::size_t>(i)] == 0) one_donor.push_back(i);
    auto anchor = rung(tc->cells, {.latent = LadderLatent::unit});
    try {
        (void)anchor.run_split(tc->cells, one_donor, tc->test, 1);
        FAIL() << "an anchor adaptor was fitted on one donor";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("at least two donors"), std::string::npos) << e.what();
    }
    // the cell variant needs no donors to form its rows
    auto cell = rung(tc->cells, {.latent = LadderLatent::unit}, AdaptorVariant::cell);
    EXPECT_EQ(cell.run_split(tc->cells, one_donor, tc->test, 1).stage.size(), tc->test.size());
}

// The operator's size is what results.json records for the compression chain: the form
// the features are stored in, not the panel's G x G.
TEST(AlgorithmMethod, ReportsItsOperatorsStoredSize) {
    const std::vector<std::string> genes = {"A", "B", "C", "D", "E"};
    const AlgorithmMethod dense("dense", "", identity_operator(genes));
    ASSERT_TRUE(dense.operator_size());
    EXPECT_EQ(dense.operator_size()->stored_values, 25);
    EXPECT_DOUBLE_EQ(dense.operator_size()->mb, 100e-6);
    const AlgorithmMethod rank2("rank2", "", low_rank_operator(identity_operator(genes), 2));
    EXPECT_EQ(rank2.operator_size()->stored_values, 2 * 5 * 2); // L: G x r, R: r x G
    const AlgorithmMethod sparse("sparse", "", hard_sparse_operator(identity_operator(genes), 2, 1, 1));
    EXPECT_EQ(sparse.operator_size()->stored_values, 2 * (2 * (1 + 1) + 1)); // genes and weights on each side, and a scale
}

} // namespace
} // namespace scx
