#include "scextract/baselines/pca_projection.hpp"

#include "../support/error_of.hpp"
#include "../support/json_fixture.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

namespace scx {
namespace {

using nlohmann::json;

const json& reference() {
    static const json j = test::load_json_fixture("eval/baseline_reference.json");
    return j;
}

// |a - b| / max(|b|, 1): relative for large values, absolute for small ones.
template <class A, class B>
double max_error(const A& a, const B& b) {
    EXPECT_EQ(a.size(), b.size());
    double worst = 0;
    for (Eigen::Index i = 0; i < std::min<Eigen::Index>(a.size(), b.size()); ++i) {
        const double x = static_cast<double>(a(i / b.cols(), i % b.cols())), y = b(i / b.cols(), i % b.cols());
        worst = std::max(worst, std::abs(x - y) / std::max(std::abs(y), 1.0));
    }
    return worst;
}

double max_error_vec(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
    return max_error(RowMatrixD(a.transpose()), RowMatrixD(b.transpose()));
}

RowMatrixF matrix_f(const json& j) {
    return test::json_matrix(j).cast<float>();
}

struct Case {
    const char* key;
    bool center;
};

class PcaProjectionReference : public ::testing::TestWithParam<Case> {};

TEST_P(PcaProjectionReference, MatchesScikitLearn) {
    const auto& ref = reference();
    const auto& r = ref.at(GetParam().key);
    const RowMatrixF train = matrix_f(ref.at("x_train")), test = matrix_f(ref.at("x_test"));
    for (const auto solver : {PcaSolver::automatic, PcaSolver::full}) {
        PcaProjectionOptions o;
        o.n_components = ref.at("n_components").get<std::int64_t>();
        o.center = GetParam().center;
        o.solver = solver;
        const auto fit = fit_pca_projection(train, o);
        const auto& p = fit.projection;
        EXPECT_FALSE(fit.used_lanczos); // 40 features: the full solver
        const double e_components = max_error(p.components, test::json_matrix(r.at("components")));
        const double e_test = max_error(p.transform(test), test::json_matrix(r.at("transform_test")));
        EXPECT_LT(e_components, 1e-8);
        RecordProperty("max_component_error", fmt::format("{:.2e}", e_components));
        RecordProperty("max_test_transform_error", fmt::format("{:.2e}", e_test));
        EXPECT_LT(max_error_vec(p.singular_values, test::json_vector(r.at("singular_values"))), 1e-10);
        EXPECT_LT(max_error_vec(p.explained_variance, test::json_vector(r.at("explained_variance"))), 1e-10);
        EXPECT_LT(max_error_vec(p.explained_variance_ratio, test::json_vector(r.at("explained_variance_ratio"))), 1e-10);
        if (GetParam().center) EXPECT_LT(max_error_vec(p.mean, test::json_vector(r.at("mean"))), 1e-12);
        else EXPECT_TRUE(p.mean.isZero());
        // Float outputs: ~1e-7 relative.
        EXPECT_LT(max_error(fit.scores, test::json_matrix(r.at("transform_train"))), 1e-5);
        EXPECT_LT(max_error(p.transform(test), test::json_matrix(r.at("transform_test"))), 1e-5);
        EXPECT_EQ(p.parameter_count(), o.n_components * train.cols() + (o.center ? train.cols() : 0));
    }
}

INSTANTIATE_TEST_SUITE_P(Sklearn, PcaProjectionReference,
                         ::testing::Values(Case{"pca", true}, Case{"svd", false}),
                         [](const auto& info) { return std::string(info.param.key); });

// Sparse, log1p-like data with a few strong directions, large enough for several row blocks
// and the Lanczos solver.
RowMatrixF sparse_data(Eigen::Index n, Eigen::Index g, std::uint64_t seed, double density = 0.3) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    RowMatrixD loadings(6, g);
    for (Eigen::Index i = 0; i < loadings.size(); ++i) loadings.data()[i] = normal(rng);
    RowMatrixF x = RowMatrixF::Zero(n, g);
    for (Eigen::Index r = 0; r < n; ++r) {
        Eigen::RowVectorXd f(6);
        for (int k = 0; k < 6; ++k) f[k] = normal(rng) * (6.0 - k);
        const Eigen::RowVectorXd mean = f * loadings;
        for (Eigen::Index j = 0; j < g; ++j)
            if (unit(rng) < density) x(r, j) = static_cast<float>(std::log1p(std::abs(mean[j]) + unit(rng)));
    }
    return x;
}

TEST(PcaProjection, LanczosAgreesWithFullSolver) {
    const RowMatrixF x = sparse_data(600, 300, 3);
    for (const bool center : {true, false}) {
        PcaProjectionOptions o;
        o.center = center;
        o.solver = PcaSolver::full;
        const auto full = fit_pca_projection(x, o);
        o.solver = PcaSolver::automatic; // 300 features, 10 components: Lanczos
        const auto lanczos = fit_pca_projection(x, o);
        EXPECT_FALSE(full.used_lanczos);
        EXPECT_TRUE(lanczos.used_lanczos);
        EXPECT_LT(max_error(lanczos.projection.components, full.projection.components), 1e-7) << center;
        EXPECT_LT(max_error_vec(lanczos.projection.explained_variance, full.projection.explained_variance), 1e-9);
        EXPECT_LT(max_error(lanczos.scores, RowMatrixD(full.scores.cast<double>())), 1e-5);
    }
}

TEST(PcaProjection, ThreadCountDoesNotChangeBits) {
    const RowMatrixF x = sparse_data(5000, 70, 11); // two row blocks, five column blocks
    for (const bool center : {true, false}) {
        PcaProjectionOptions o;
        o.center = center;
        o.threads = 1;
        const auto one = fit_pca_projection(x, o);
        o.threads = 2;
        const auto two = fit_pca_projection(x, o);
        EXPECT_TRUE(one.projection.components == two.projection.components);
        EXPECT_TRUE(one.projection.explained_variance == two.projection.explained_variance);
        EXPECT_TRUE(one.scores == two.scores);
    }
}

TEST(PcaProjection, DenseAndSparseRowBlocksAgreeWithEigenAndIgnoreTheThreadCount) {
    // rows 0-4095 (one block) at density 0.3 take the GEMM, the rest at 0.05 the sparse loop
    RowMatrixF x(9000, 300);
    x.topRows(4096) = sparse_data(4096, 300, 5, 0.3);
    x.bottomRows(9000 - 4096) = sparse_data(9000 - 4096, 300, 6, 0.05);
    PcaProjectionOptions o;
    o.n_components = 10;
    o.solver = PcaSolver::full;
    o.threads = 1;
    const auto one = fit_pca_projection(x, o);
    for (const int threads : {2, 3}) {
        o.threads = threads;
        const auto other = fit_pca_projection(x, o);
        EXPECT_TRUE(one.projection.components == other.projection.components) << threads;
        EXPECT_TRUE(one.scores == other.scores) << threads;
    }
    // the covariance straight from Eigen in double
    const Eigen::MatrixXd xd = x.cast<double>();
    const Eigen::MatrixXd centred = xd.rowwise() - xd.colwise().mean();
    const Eigen::MatrixXd cov = centred.transpose() * centred / (9000.0 - 1.0);
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(cov);
    for (Eigen::Index j = 0; j < 10; ++j)
        EXPECT_NEAR(one.projection.explained_variance[j] / es.eigenvalues()[299 - j], 1.0, 1e-10) << j;
}

TEST(PcaProjection, ComponentsAreOrthonormalWithSklearnSigns) {
    const RowMatrixF x = sparse_data(400, 50, 4);
    const auto p = fit_pca_projection(x).projection;
    const Eigen::MatrixXd gram = p.components * p.components.transpose();
    EXPECT_LT((gram - Eigen::MatrixXd::Identity(10, 10)).cwiseAbs().maxCoeff(), 1e-12);
    for (Eigen::Index j = 0; j < p.components.rows(); ++j) {
        Eigen::Index at = 0;
        p.components.row(j).cwiseAbs().maxCoeff(&at);
        EXPECT_GT(p.components(j, at), 0.0);
    }
    for (Eigen::Index j = 1; j < p.explained_variance.size(); ++j)
        EXPECT_GE(p.explained_variance[j - 1], p.explained_variance[j]);
}

TEST(PcaProjection, RejectsBadSizes) {
    const RowMatrixF x = sparse_data(8, 5, 1);
    PcaProjectionOptions o;
    EXPECT_NE(test::error_of([&] { (void)fit_pca_projection(x, o); }).find("n_components = 10"), std::string::npos);
    o.n_components = 0;
    EXPECT_FALSE(test::error_of([&] { (void)fit_pca_projection(x, o); }).empty());
    o.n_components = 3;
    const auto p = fit_pca_projection(x, o).projection;
    EXPECT_NE(test::error_of([&] { (void)p.transform(RowMatrixF::Zero(2, 4)); }).find("fitted on 5 features"),
              std::string::npos);
}

} // namespace
} // namespace scx
