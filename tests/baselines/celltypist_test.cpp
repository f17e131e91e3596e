// CellTypist's fit (baselines/celltypist.hpp) against scikit-learn's LogisticRegression as
// celltypist.train() configures it (tests/fixtures/eval/baseline_reference.json).

#include "scextract/baselines/celltypist.hpp"

#include "../support/error_of.hpp"
#include "../support/json_fixture.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <string>

namespace scx {
namespace {

using nlohmann::json;

const json& reference() {
    static const json j = test::load_json_fixture("eval/baseline_reference.json");
    return j;
}

std::vector<std::int64_t> ints(const json& j) {
    return j.get<std::vector<std::int64_t>>();
}

double max_abs_diff(const RowMatrixD& a, const RowMatrixD& b) {
    EXPECT_EQ(a.rows(), b.rows());
    EXPECT_EQ(a.cols(), b.cols());
    if (a.rows() != b.rows() || a.cols() != b.cols()) return INFINITY;
    return (a - b).cwiseAbs().maxCoeff();
}

RowMatrixD row(const Eigen::VectorXd& v) {
    return v.transpose();
}

struct Data {
    RowMatrixF train = test::json_matrix(reference().at("x_train")).cast<float>();
    RowMatrixF test = test::json_matrix(reference().at("x_test")).cast<float>();
    std::vector<std::int64_t> labels = ints(reference().at("labels_train"));
};

TEST(CellTypist, TightFitMatchesScikitLearnOptimum) {
    const Data d;
    const auto& ref = reference().at("celltypist_tight");
    CellTypistOptions o;
    o.tolerance = 1e-10; // to the optimum, as the tightly converged reference
    const auto fit = fit_celltypist(d.train, d.labels, o);
    const auto& m = fit.model;
    for (const auto& f : fit.fits) EXPECT_TRUE(f.converged);
    EXPECT_EQ(m.classes, ints(ref.at("classes")));
    // The gene without training counts is dropped, as celltypist.train does.
    const auto zero = reference().at("zero_gene").get<std::int64_t>();
    EXPECT_EQ(m.features.size(), static_cast<std::size_t>(d.train.cols() - 1));
    EXPECT_EQ(std::find(m.features.begin(), m.features.end(), zero), m.features.end());
    EXPECT_LT(max_abs_diff(row(m.mean), row(test::json_vector(ref.at("scaler_mean")))), 1e-6);
    EXPECT_LT(max_abs_diff(row(m.scale), row(test::json_vector(ref.at("scaler_scale")))), 1e-6);
    const double e_coef = max_abs_diff(m.coef, test::json_matrix(ref.at("coef")));
    const double e_decision = max_abs_diff(m.decision_function(d.test), test::json_matrix(ref.at("decision")));
    EXPECT_LT(e_coef, 1e-5);
    EXPECT_LT(max_abs_diff(row(m.intercept), row(test::json_vector(ref.at("intercept")))), 1e-5);
    EXPECT_LT(e_decision, 1e-4);
    RecordProperty("max_coef_error", fmt::format("{:.2e}", e_coef));
    RecordProperty("max_decision_error", fmt::format("{:.2e}", e_decision));
    EXPECT_EQ(m.predict(d.test), ints(ref.at("predicted")));
    EXPECT_EQ(m.parameter_count(), 4 * (d.train.cols() - 1 + 1));
}

TEST(CellTypist, DefaultsGiveCellTypistsPredictions) {
    const Data d;
    const auto fit = fit_celltypist(d.train, d.labels); // tol 1e-4, max_iter 1000, C 1
    const auto& m = fit.model;
    // Same L-BFGS-B path as sklearn's lbfgs: the same iterations per class and the same
    // stopping point, which at tol 1e-4 is still away from the optimum.
    const auto& ref = reference().at("celltypist_default");
    const double to_sklearn = max_abs_diff(m.coef, test::json_matrix(ref.at("coef")));
    const double to_optimum = max_abs_diff(m.coef, test::json_matrix(reference().at("celltypist_tight").at("coef")));
    RecordProperty("max_coef_error_to_sklearn_default", fmt::format("{:.2e}", to_sklearn));
    RecordProperty("max_coef_distance_to_optimum", fmt::format("{:.2e}", to_optimum));
    std::printf("coef vs sklearn default %.3g, vs optimum %.3g\n", to_sklearn, to_optimum);
    EXPECT_LT(to_sklearn, 1e-5);
    EXPECT_LT(max_abs_diff(row(m.intercept), row(test::json_vector(ref.at("intercept")))), 1e-5);
    EXPECT_EQ(m.predict(d.test), ints(ref.at("predicted")));
    const auto n_iter = ints(ref.at("n_iter"));
    ASSERT_EQ(fit.fits.size(), n_iter.size());
    for (std::size_t c = 0; c < n_iter.size(); ++c) {
        EXPECT_EQ(fit.fits[c].iterations, n_iter[c]) << "class " << c;
        EXPECT_TRUE(fit.fits[c].converged);
        EXPECT_LE(fit.fits[c].gradient_norm, 1e-4);
    }
}

TEST(CellTypist, TwoClassesFitOneWeightVector) {
    const Data d;
    const auto& ref = reference().at("celltypist_two_class_tight");
    const auto rows = ints(reference().at("two_class_rows"));
    RowMatrixF x(static_cast<Eigen::Index>(rows.size()), d.train.cols());
    std::vector<std::int64_t> labels;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        x.row(static_cast<Eigen::Index>(i)) = d.train.row(rows[i]);
        labels.push_back(d.labels[static_cast<std::size_t>(rows[i])]);
    }
    CellTypistOptions o;
    o.tolerance = 1e-10;
    const auto m = fit_celltypist(x, labels, o).model;
    EXPECT_EQ(m.coef.rows(), 1);
    EXPECT_EQ(m.classes, ints(ref.at("classes")));
    EXPECT_LT(max_abs_diff(m.coef, test::json_matrix(ref.at("coef"))), 1e-5);
    const RowMatrixD s = m.decision_function(d.test);
    EXPECT_LT(max_abs_diff(s, test::json_matrix(ref.at("decision"))), 1e-4);
    EXPECT_TRUE(s.col(0) == -s.col(1));
    EXPECT_EQ(m.predict(d.test), ints(ref.at("predicted")));
}

TEST(CellTypist, UnlabelledRowsAreLeftOut) {
    const Data d;
    std::vector<std::int64_t> labels = d.labels;
    RowMatrixF x(d.train.rows() + 3, d.train.cols());
    x << d.train, RowMatrixF::Constant(3, d.train.cols(), 50.0F);
    labels.insert(labels.end(), 3, -1);
    const auto a = fit_celltypist(d.train, d.labels).model, b = fit_celltypist(x, labels).model;
    EXPECT_TRUE(a.coef == b.coef);
    EXPECT_TRUE(a.mean == b.mean);
}

TEST(CellTypist, ThreadCountDoesNotChangeBits) {
    const Data d;
    CellTypistOptions o;
    o.threads = 1;
    const auto one = fit_celltypist(d.train, d.labels, o).model;
    o.threads = 2;
    const auto two = fit_celltypist(d.train, d.labels, o).model;
    EXPECT_TRUE(one.coef == two.coef);
    EXPECT_TRUE(one.intercept == two.intercept);
}

TEST(CellTypist, RejectsBadInput) {
    const Data d;
    EXPECT_NE(test::error_of([&] { (void)fit_celltypist(d.train, std::vector<std::int64_t>(d.train.rows(), 2)); })
                  .find("two classes"),
              std::string::npos);
    EXPECT_NE(test::error_of([&] { (void)fit_celltypist(d.train, {0, 1}); }).find("labels"), std::string::npos);
    const auto m = fit_celltypist(d.train, d.labels).model;
    EXPECT_FALSE(test::error_of([&] { (void)m.decision_function(RowMatrixF::Zero(2, 5)); }).empty());
}

} // namespace
} // namespace scx
