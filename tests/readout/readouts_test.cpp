#include "scextract/core/error.hpp"
#include "scextract/readout/readouts.hpp"

#include "../support/json_fixture.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace scx {
namespace {

using nlohmann::json;

json load_reference() {
    return test::load_json_fixture("readout/readout_reference.json");
}
RowMatrixD matrix_of(const json& j) {
    return test::json_matrix(j);
}
Eigen::VectorXd vector_of(const json& j) {
    return test::json_vector(j);
}

std::string sci(double v) {
    return fmt::format("{:.3e}", v);
}

// |a - b| / max(|b|, 1): relative for large values, absolute for small ones.
double error(double a, double b) {
    return std::abs(a - b) / std::max(std::abs(b), 1.0);
}

// The largest error() over the entries.
template <class A, class B>
double max_error(const A& a, const B& b) {
    double worst = 0;
    for (Eigen::Index i = 0; i < b.size(); ++i)
        worst = std::max(worst, error(static_cast<double>(a.data()[i]), b.data()[i]));
    return worst;
}

// sklearn's C and class_weight of a reference fit.
LogisticOptions logistic_options_of(const json& c) {
    LogisticOptions o;
    o.C = c.at("C").get<double>();
    o.balanced_class_weights = c.at("balanced").get<bool>();
    return o;
}

struct Fixture {
    json ref = load_reference();
    RowMatrixF Z = matrix_of(ref.at("z")).cast<float>();
    RowMatrixF head(Eigen::Index rows) const { return Z.topRows(rows); }
};

TEST(DepthReadout, MatchesScikitLearnRidge) {
    const Fixture fx;
    const Eigen::VectorXd y = vector_of(fx.ref.at("depth"));
    double worst = 0;
    for (const auto& c : fx.ref.at("ridge")) {
        RidgeOptions o;
        o.alpha = c.at("alpha").get<double>();
        const DepthReadoutResult r = fit_depth_readout(fx.Z, y, o);
        const double ew = max_error(r.readout.w, vector_of(c.at("coef")));
        const double eb = error(r.readout.b, c.at("intercept").get<double>());
        const Eigen::VectorXd expected = vector_of(c.at("prediction"));
        const double ep = max_error(r.readout.predict(fx.head(expected.size())), expected);
        EXPECT_LT(ew, 1e-6);
        EXPECT_LT(eb, 1e-6);
        EXPECT_LT(ep, 1e-6);
        EXPECT_EQ(r.n_rows, fx.Z.rows());
        EXPECT_GT(r.r_squared, 0.5);
        EXPECT_EQ(r.readout.parameter_count(), fx.Z.cols() + 1);
        worst = std::max({worst, ew, eb, ep});
    }
    RecordProperty("max_error", sci(worst));
}

TEST(DepthReadout, SkipsMissingTargetsAndChecksInput) {
    const Fixture fx;
    Eigen::VectorXd y = vector_of(fx.ref.at("depth"));
    const DepthReadoutResult all = fit_depth_readout(fx.Z.topRows(200), y.head(200));
    Eigen::VectorXd with_nan = y;
    with_nan.tail(40).setConstant(std::nan(""));
    const DepthReadoutResult some = fit_depth_readout(fx.Z, with_nan);
    EXPECT_EQ(some.n_rows, 200);
    EXPECT_TRUE(some.readout.w == all.readout.w);
    EXPECT_THROW(fit_depth_readout(fx.Z, y.head(10)), Error);
    RidgeOptions bad;
    bad.alpha = -1;
    EXPECT_THROW(fit_depth_readout(fx.Z, y, bad), Error);
    EXPECT_THROW((void)all.readout.predict(RowMatrixF::Zero(3, 2)), Error);
}

TEST(SoftmaxReadout, MatchesScikitLearnMultinomialLogisticRegression) {
    const Fixture fx;
    const auto names = fx.ref.at("class_names").get<std::vector<std::string>>();
    double worst = 0;
    for (const auto& c : fx.ref.at("softmax")) {
        const LogisticOptions o = logistic_options_of(c);
        const auto labels = c.at("labels").get<std::vector<std::int64_t>>();
        const SoftmaxReadoutResult r = fit_softmax_readout(fx.Z, labels, names, o);
        const std::string name = c.at("case");
        EXPECT_TRUE(r.info.converged) << name;
        EXPECT_EQ(r.class_codes, c.at("classes").get<std::vector<std::int64_t>>()) << name;
        ASSERT_EQ(r.readout.classes.size(), r.class_codes.size());
        for (std::size_t q = 0; q < r.class_codes.size(); ++q) EXPECT_EQ(r.readout.classes[q], names[r.class_codes[q]]);
        const double ew = max_error(r.readout.W, matrix_of(c.at("coef")));
        const double eb = max_error(r.readout.b, vector_of(c.at("intercept")));
        const RowMatrixD expected = matrix_of(c.at("proba"));
        const double ep = max_error(r.readout.predict_proba(fx.head(expected.rows())), expected);
        EXPECT_LT(ew, 1e-4) << name;
        EXPECT_LT(eb, 1e-4) << name;
        EXPECT_LT(ep, 1e-4) << name;
        EXPECT_EQ(r.readout.parameter_count(), static_cast<std::int64_t>(r.class_codes.size()) * (fx.Z.cols() + 1));
        worst = std::max({worst, ew, eb, ep});

        // predict() is the arg max of predict_proba().
        const auto pred = r.readout.predict(fx.head(expected.rows()));
        for (Eigen::Index i = 0; i < expected.rows(); ++i) {
            Eigen::Index best = 0;
            expected.row(i).maxCoeff(&best);
            EXPECT_EQ(pred[i], best);
        }
    }
    RecordProperty("max_error", sci(worst));
}

TEST(BinaryReadout, MatchesScikitLearnLogisticRegression) {
    const Fixture fx;
    const auto labels = fx.ref.at("binary").get<std::vector<std::int64_t>>();
    double worst = 0;
    for (const auto& c : fx.ref.at("binary_fits")) {
        const LogisticOptions o = logistic_options_of(c);
        const BinaryReadoutResult r = fit_binary_readout(fx.Z, labels, {"CD4 T", "CD8 T"}, o);
        EXPECT_TRUE(r.info.converged);
        const double ew = max_error(r.readout.w, vector_of(c.at("coef")));
        const double eb = error(r.readout.b, c.at("intercept").get<double>());
        const Eigen::VectorXd expected = vector_of(c.at("proba"));
        const double ep = max_error(r.readout.predict_proba(fx.head(expected.size())), expected);
        EXPECT_LT(ew, 1e-4);
        EXPECT_LT(eb, 1e-4);
        EXPECT_LT(ep, 1e-4);
        EXPECT_EQ(r.readout.parameter_count(), fx.Z.cols() + 1);
        EXPECT_EQ(r.readout.negative_class, "CD4 T");
        EXPECT_EQ(r.readout.positive_class, "CD8 T");
        const auto pred = r.readout.predict(fx.head(expected.size()));
        for (Eigen::Index i = 0; i < expected.size(); ++i) EXPECT_EQ(pred[i], expected[i] > 0.5 ? 1 : 0);
        worst = std::max({worst, ew, eb, ep});
    }
    RecordProperty("max_error", sci(worst));
}

class LogisticThreads : public ::testing::TestWithParam<int> {};

TEST_P(LogisticThreads, SameBitsAsOneThread) {
    // 2,400 rows: several chunks, so the sums really are split.
    const Fixture fx;
    RowMatrixF Z(2400, fx.Z.cols());
    std::vector<std::int64_t> labels(2400), binary(2400);
    const auto l = fx.ref.at("labels").get<std::vector<std::int64_t>>();
    const auto b = fx.ref.at("binary").get<std::vector<std::int64_t>>();
    for (Eigen::Index i = 0; i < 2400; ++i) {
        Z.row(i) = fx.Z.row(i % fx.Z.rows()) * (1.0f + 0.001f * static_cast<float>(i / fx.Z.rows()));
        labels[i] = l[i % l.size()];
        binary[i] = b[i % b.size()];
    }
    const auto names = fx.ref.at("class_names").get<std::vector<std::string>>();
    LogisticOptions o1, on;
    o1.threads = 1;
    on.threads = GetParam();
    const auto s1 = fit_softmax_readout(Z, labels, names, o1), sn = fit_softmax_readout(Z, labels, names, on);
    EXPECT_TRUE(s1.readout.W == sn.readout.W);
    EXPECT_TRUE(s1.readout.b == sn.readout.b);
    const auto b1 = fit_binary_readout(Z, binary, {"a", "b"}, o1), bn = fit_binary_readout(Z, binary, {"a", "b"}, on);
    EXPECT_TRUE(b1.readout.w == bn.readout.w);
    EXPECT_EQ(b1.readout.b, bn.readout.b);
    std::vector<std::int64_t> flipped(binary.size());
    for (std::size_t i = 0; i < binary.size(); ++i) flipped[i] = binary[i] < 0 ? -1 : 1 - binary[i];
    const auto m1 = fit_binary_readouts(Z, {binary, flipped}, {{"a", "b"}, {"b", "a"}}, o1);
    const auto mn = fit_binary_readouts(Z, {binary, flipped}, {{"a", "b"}, {"b", "a"}}, on);
    for (std::size_t j = 0; j < 2; ++j) {
        EXPECT_TRUE(m1[j].readout.w == mn[j].readout.w);
        EXPECT_EQ(m1[j].readout.b, mn[j].readout.b);
    }
    RidgeOptions r1, rn;
    r1.threads = 1;
    rn.threads = GetParam();
    Eigen::VectorXd y(2400);
    for (Eigen::Index i = 0; i < 2400; ++i) y[i] = static_cast<double>(l[i % l.size()]) + 0.01 * static_cast<double>(i);
    EXPECT_TRUE(fit_depth_readout(Z, y, r1).readout.w == fit_depth_readout(Z, y, rn).readout.w);
}

INSTANTIATE_TEST_SUITE_P(Threads, LogisticThreads, ::testing::Values(2, 3));

// Fits made together (one pass over Z per round) are the fits made one at a time, to the
// rounding of the other GEMM shapes: label sets with different unlabelled rows, balanced weights.
TEST(BinaryReadouts, TogetherEqualOneAtATime) {
    const Fixture fx;
    const auto labels = fx.ref.at("labels").get<std::vector<std::int64_t>>();
    const auto n_classes = static_cast<std::int64_t>(fx.ref.at("class_names").size());
    std::vector<std::vector<std::int64_t>> sets;
    std::vector<std::array<std::string, 2>> names;
    for (std::int64_t c = 0; c < n_classes; ++c) {
        auto& y = sets.emplace_back(labels.size());
        for (std::size_t i = 0; i < labels.size(); ++i)
            y[i] = labels[i] < 0 ? -1 : (labels[i] == c ? 1 : 0);
        names.push_back({"rest", fmt::format("class {}", c)});
    }
    for (std::size_t i = 0; i < sets[0].size(); i += 3) sets[0][i] = -1; // another set of rows
    for (const bool balanced : {false, true}) {
        LogisticOptions o;
        o.balanced_class_weights = balanced;
        o.threads = 2;
        const auto together = fit_binary_readouts(fx.Z, sets, names, o);
        ASSERT_EQ(together.size(), sets.size());
        for (std::size_t j = 0; j < sets.size(); ++j) {
            const auto alone = fit_binary_readout(fx.Z, sets[j], names[j], o);
            EXPECT_TRUE(together[j].info.converged);
            EXPECT_EQ(together[j].info.n_rows, alone.info.n_rows);
            EXPECT_LT(max_error(together[j].readout.w, Eigen::VectorXd(alone.readout.w.cast<double>())), 1e-6) << j;
            EXPECT_LT(error(together[j].readout.b, alone.readout.b), 1e-6) << j;
            EXPECT_EQ(together[j].readout.positive_class, names[j][1]);
        }
    }
    EXPECT_THROW(fit_binary_readouts(fx.Z, sets, {names[0]}), Error);
    sets[1][0] = 2;
    EXPECT_THROW(fit_binary_readouts(fx.Z, sets, names), Error);
}

TEST(LogisticReadouts, RejectBadLabels) {
    const Fixture fx;
    const std::vector<std::string> names = {"a", "b"};
    std::vector<std::int64_t> labels(static_cast<std::size_t>(fx.Z.rows()), 0);
    EXPECT_THROW(fit_softmax_readout(fx.Z, labels, names), Error); // one class only
    EXPECT_THROW(fit_binary_readout(fx.Z, labels, {"a", "b"}), Error);
    labels[3] = 2;
    EXPECT_THROW(fit_softmax_readout(fx.Z, labels, names), Error);
    EXPECT_THROW(fit_binary_readout(fx.Z, labels, {"a", "b"}), Error);
    labels[3] = 1;
    LogisticOptions bad;
    bad.C = 0;
    EXPECT_THROW(fit_binary_readout(fx.Z, labels, {"a", "b"}, bad), Error);
    labels.pop_back();
    EXPECT_THROW(fit_softmax_readout(fx.Z, labels, names), Error);
}

} // namespace
} // namespace scx
