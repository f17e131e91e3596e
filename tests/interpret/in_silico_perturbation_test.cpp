// In-silico perturbation through a hand-built algorithm whose outputs are known in closed form:
// features = x, z = x_A + x_B, depth = z, P(branch b1) = sigmoid(2 z). Knocking out A must
// shift every cell's depth by exactly -x_A; the null of same-bin random genes must be what it
// is; genes off the panel are left out and listed; results do not depend on the threads.
#include "scextract/core/error.hpp"
#include "scextract/interpret/in_silico_perturbation.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace {

scx::Algorithm closed_form_algorithm() {
    scx::Algorithm a;
    a.features.genes = {"A", "B", "C", "D", "E", "F"};
    scx::FeatureBlock b;
    b.name = "identity";
    b.dense = scx::RowMatrixF::Identity(6, 6);
    a.features.blocks.push_back(b);
    a.feature_mean = Eigen::VectorXf::Zero(6);
    a.feature_sd = Eigen::VectorXf::Ones(6);
    a.adaptor_W = scx::RowMatrixF::Zero(1, 6);
    a.adaptor_W(0, 0) = 1;
    a.adaptor_W(0, 1) = 1;
    a.adaptor_b = Eigen::VectorXf::Zero(6);
    a.readouts.push_back({"depth", "regression", scx::RowMatrixF::Ones(1, 1), Eigen::VectorXf::Zero(1), {}});
    scx::RowMatrixF w(2, 1);
    w << 1, -1;
    a.readouts.push_back({"branch", "softmax", w, Eigen::VectorXf::Zero(2), {"b1", "b2"}});
    return a;
}

scx::RowMatrixF cells(int n) {
    scx::RowMatrixF x(n, 6);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < 6; ++j) x(i, j) = static_cast<float>(((i * 7 + j * 3) % 11) * 0.25 + 0.1 * j);
    return x;
}

TEST(InSilicoPerturbation, KnockoutShiftsDepthByExactlyTheGenesContribution) {
    const auto a = closed_form_algorithm();
    const auto x = cells(300);
    scx::PerturbationOptions o;
    o.genes = {"A", "NOT_IN_PANEL"};
    o.null_sets = 40;
    o.expression_bins = 1;
    o.threads = 1;
    const auto r = scx::perturb_cells(a, x, o);
    EXPECT_EQ(r.genes, (std::vector<std::string>{"A"}));
    EXPECT_EQ(r.missing_genes, (std::vector<std::string>{"NOT_IN_PANEL"}));
    ASSERT_EQ(r.depth_shift.size(), 300);
    for (int i = 0; i < 300; ++i) EXPECT_NEAR(r.depth_shift(i), -x(i, 0), 1e-5) << i;
    for (int i = 0; i < 300; ++i) {
        const double z0 = x(i, 0) + x(i, 1), z1 = x(i, 1);
        const double p0 = 1 / (1 + std::exp(-2 * z0)), p1 = 1 / (1 + std::exp(-2 * z1));
        EXPECT_NEAR(r.branch_shift(i, 0), p1 - p0, 1e-5);
        EXPECT_NEAR(r.branch_shift(i, 1), p0 - p1, 1e-5);
    }
    ASSERT_EQ(r.summary.size(), 3U);
    EXPECT_EQ(r.summary[0].output, "depth");
    EXPECT_NEAR(r.summary[0].shift, -x.col(0).cast<double>().mean(), 1e-5);
    // the null draws one of B..F: only B moves depth, so the null mean lies between -mean(x_B) and 0
    EXPECT_LT(r.summary[0].null_mean, 0.0);
    EXPECT_GT(r.summary[0].null_mean, -x.col(1).cast<double>().mean());
    EXPECT_EQ(r.summary[1].output, "branch:b1");
    EXPECT_EQ(r.null_sets, 40);
    EXPECT_GE(r.summary[0].p, 2.0 / 41.0 - 1e-12) << "two-sided empirical p floor";

    auto o2 = o;
    o2.threads = 2;
    const auto r2 = scx::perturb_cells(a, x, o2);
    EXPECT_EQ((r.depth_shift - r2.depth_shift).cwiseAbs().maxCoeff(), 0.0);
    EXPECT_EQ(r.summary[0].p, r2.summary[0].p);
    EXPECT_EQ(r.summary[0].null_mean, r2.summary[0].null_mean);
}

TEST(InSilicoPerturbation, OverexpressSetsGenesToTheirHighestValue) {
    const auto a = closed_form_algorithm();
    const auto x = cells(50);
    scx::PerturbationOptions o;
    o.mode = scx::PerturbationMode::overexpress;
    o.genes = {"B"};
    o.null_sets = 5;
    const auto r = scx::perturb_cells(a, x, o);
    const float top = x.col(1).maxCoeff();
    ASSERT_EQ(r.set_values.size(), 1U);
    EXPECT_FLOAT_EQ(static_cast<float>(r.set_values[0]), top);
    for (int i = 0; i < 50; ++i) EXPECT_NEAR(r.depth_shift(i), top - x(i, 1), 1e-5);
}

TEST(InSilicoPerturbation, BadRequestsAreRefused) {
    const auto a = closed_form_algorithm();
    const auto x = cells(20);
    scx::PerturbationOptions o;
    o.genes = {"X1", "X2"};
    try {
        (void)scx::perturb_cells(a, x, o);
        FAIL() << "no gene in the panel";
    } catch (const scx::Error& e) {
        EXPECT_NE(std::string(e.what()).find("none of the 2 genes is in the algorithm's 6-gene panel (X1, X2)"), std::string::npos)
            << e.what();
    }
    o.genes = {};
    EXPECT_THROW((void)scx::perturb_cells(a, x, o), scx::UsageError) << "neither genes nor a factor";
    o.genes = {"A", "B", "C", "D"};
    EXPECT_THROW((void)scx::perturb_cells(a, x, o), scx::Error) << "too many genes for a null";
    o.genes = {};
    o.factor = 9;
    EXPECT_THROW((void)scx::perturb_cells(a, x, o), scx::Error) << "factor beyond the operator's";
    EXPECT_THROW((void)scx::parse_perturbation_mode("silence"), scx::UsageError);
}

} // namespace
