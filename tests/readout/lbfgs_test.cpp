#include "scextract/readout/lbfgs.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace scx {
namespace {

// Rosenbrock's function in 4 dimensions: minimum 0 at (1, 1, 1, 1), a curved valley that
// needs both the line search and the curvature pairs.
double rosenbrock(const Eigen::VectorXd& x, Eigen::VectorXd& g) {
    double f = 0;
    g.setZero(x.size());
    for (Eigen::Index i = 0; i + 1 < x.size(); ++i) {
        const double a = x[i + 1] - x[i] * x[i], b = 1.0 - x[i];
        f += 100.0 * a * a + b * b;
        g[i] += -400.0 * a * x[i] - 2.0 * b;
        g[i + 1] += 200.0 * a;
    }
    return f;
}

class LbfgsPaths : public ::testing::TestWithParam<LbfgsPath> {};

TEST_P(LbfgsPaths, MinimisesRosenbrock) {
    LogisticOptions o;
    o.path = GetParam();
    o.tolerance = 1e-8;
    Eigen::VectorXd x(4);
    x << -1.2, 1.0, -1.2, 1.0;
    const LogisticFitInfo info = minimize(rosenbrock, x, o);
    EXPECT_TRUE(info.converged);
    EXPECT_GT(info.iterations, 10);
    EXPECT_LT((x - Eigen::VectorXd::Ones(4)).cwiseAbs().maxCoeff(), 1e-5);
    EXPECT_LT(info.objective, 1e-10);
    EXPECT_LE(info.gradient_norm, 1e-8 * (o.path == LbfgsPath::scipy_lbfgsb ? 1e4 : 1.0)); // scipy may stop on f's decrease
}

TEST_P(LbfgsPaths, StopsAtTheIterationLimitAndWhenDone) {
    LogisticOptions o;
    o.path = GetParam();
    o.tolerance = 1e-12;
    o.max_iterations = 3;
    Eigen::VectorXd x(4);
    x << -1.2, 1.0, -1.2, 1.0;
    LbfgsMinimizer m(x, o);
    Eigen::VectorXd g(4);
    int evaluations = 0;
    while (!m.done()) {
        const double f = rosenbrock(m.point(), g);
        m.tell(f, g);
        ++evaluations;
        ASSERT_LT(evaluations, 1000);
    }
    EXPECT_FALSE(m.info().converged);
    EXPECT_EQ(m.info().iterations, 3);
    EXPECT_GE(evaluations, 4);
    Eigen::VectorXd g0(4);
    EXPECT_LT(rosenbrock(m.solution(), g0), rosenbrock(x, g)); // it went downhill
    EXPECT_DOUBLE_EQ(m.info().objective, rosenbrock(m.solution(), g0));
}

TEST_P(LbfgsPaths, StartAtTheOptimumTakesOneEvaluation) {
    LogisticOptions o;
    o.path = GetParam();
    LbfgsMinimizer m(Eigen::VectorXd::Ones(4), o);
    Eigen::VectorXd g(4);
    m.tell(rosenbrock(m.point(), g), g);
    EXPECT_TRUE(m.done());
    EXPECT_TRUE(m.info().converged);
    EXPECT_EQ(m.info().iterations, 0);
}

INSTANTIATE_TEST_SUITE_P(Paths, LbfgsPaths, ::testing::Values(LbfgsPath::backtracking, LbfgsPath::scipy_lbfgsb));

} // namespace
} // namespace scx
