#include "scextract/core/error.hpp"
#include "scextract/stats/metrics.hpp"

#include "../support/error_of.hpp"
#include "../support/json_fixture.hpp"
#include "../support/numeric_close.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace scx {
namespace {

using nlohmann::json;

constexpr double kTol = 1e-10;

const json& reference() {
    static const json ref = test::load_json_fixture("eval/statistics.json");
    return ref;
}

std::vector<double> doubles(const json& j) { return test::json_doubles(j); }

std::vector<std::int64_t> codes(const json& j) {
    return j.get<std::vector<std::int64_t>>();
}

::testing::AssertionResult close(double a, double b) { return test::numerically_close(a, b, kTol); }

void expect_all_close(const std::vector<double>& a, const std::vector<double>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(close(a[i], b[i])) << "at " << i;
}

TEST(Auroc, MatchesScikitLearn) {
    for (const auto& c : reference().at("auroc")) {
        SCOPED_TRACE(c.at("name").get<std::string>());
        const auto s = doubles(c.at("scores"));
        const auto y = codes(c.at("labels"));
        const json& expected = c.at("auroc");
        const double a = auroc(s, y);
        if (expected.is_null()) EXPECT_TRUE(std::isnan(a));
        else EXPECT_TRUE(close(a, expected.get<double>()));
    }
}

TEST(RocCurve, MatchesScikitLearn) {
    for (const auto& c : reference().at("auroc")) {
        SCOPED_TRACE(c.at("name").get<std::string>());
        const RocCurve r = roc_curve(doubles(c.at("scores")), codes(c.at("labels")));
        expect_all_close(r.fpr, doubles(c.at("fpr")));
        expect_all_close(r.tpr, doubles(c.at("tpr")));
        expect_all_close(r.thresholds, doubles(c.at("thresholds")));
    }
}

TEST(Auroc, HandCheckedTies) {
    // One positive/negative pair tied (0.5), three pairs ordered correctly: (3 + 0.5) / 4.
    EXPECT_DOUBLE_EQ(auroc({0.1, 0.5, 0.5, 0.9}, {0, 0, 1, 1}), 3.5 / 4);
    EXPECT_DOUBLE_EQ(auroc({1, 1, 1, 1}, {0, 1, 0, 1}), 0.5);
    EXPECT_TRUE(std::isnan(auroc({0.1, 0.2}, {1, 1}))); // one class: not applicable
    const RocCurve flat = roc_curve({1, 1, 1, 1}, {0, 1, 0, 1});
    EXPECT_EQ(flat.fpr, (std::vector<double>{0, 1}));
    EXPECT_EQ(flat.tpr, (std::vector<double>{0, 1}));
    EXPECT_TRUE(std::isinf(flat.thresholds[0]));
    const RocCurve one = roc_curve({0.1, 0.2}, {1, 1});
    EXPECT_TRUE(std::isnan(one.fpr.back())); // no negatives, as sklearn
    EXPECT_EQ(one.tpr.back(), 1.0);
}

TEST(Auroc, RejectsBadInput) {
    EXPECT_NE(test::error_of([] { auroc({0.1}, {0, 1}); }).find("1 scores but 2 labels"), std::string::npos);
    EXPECT_NE(test::error_of([] { auroc({}, {}); }).find("no scores"), std::string::npos);
    EXPECT_NE(test::error_of([] { auroc({0.1, 0.2}, {0, 2}); }).find("label 1 is 2"), std::string::npos);
    EXPECT_NE(test::error_of([] { roc_curve({0.1, NAN}, {0, 1}); }).find("score 1"), std::string::npos);
}

TEST(Classification, MatchesScikitLearn) {
    for (const auto& c : reference().at("classification")) {
        SCOPED_TRACE(c.at("name").get<std::string>());
        const auto p = codes(c.at("predicted")), t = codes(c.at("truth"));
        EXPECT_TRUE(close(balanced_accuracy(p, t), c.at("balanced_accuracy").get<double>()));
        EXPECT_TRUE(close(macro_f1(p, t), c.at("macro_f1").get<double>()));
    }
}

TEST(Classification, HandCheckedMissingAndExtraClasses) {
    // truth 0,0,1,1; predicted 0,2,1,1: recall(0) = 1/2, recall(1) = 1 (class 2 adds no term).
    EXPECT_DOUBLE_EQ(balanced_accuracy({0, 2, 1, 1}, {0, 0, 1, 1}), 0.75);
    // F1: class 0 = 2/3, class 1 = 1, class 2 = 0 (predicted, never true): mean over 3.
    EXPECT_DOUBLE_EQ(macro_f1({0, 2, 1, 1}, {0, 0, 1, 1}), (2.0 / 3 + 1 + 0) / 3);
    // Unlabelled rows (truth < 0) are dropped with their predictions.
    EXPECT_DOUBLE_EQ(balanced_accuracy({5, 0, 1}, {-1, 0, 1}), 1.0);
    EXPECT_DOUBLE_EQ(macro_f1({5, 0, 1}, {-1, 0, 1}), 1.0);
    EXPECT_NE(test::error_of([] { balanced_accuracy({0}, {-1}); }).find("no labelled rows"), std::string::npos);
    EXPECT_NE(test::error_of([] { macro_f1({0, 1}, {0}); }).find("2 predictions but 1 true labels"), std::string::npos);
}

struct TrustCase {
    RowMatrixD X, Z;
    std::vector<std::pair<std::int64_t, double>> values;
    std::string name;
};

std::vector<TrustCase> trust_cases() {
    std::vector<TrustCase> out;
    for (const auto& c : reference().at("trustworthiness")) {
        TrustCase t{test::json_matrix(c.at("X")), test::json_matrix(c.at("Z")), {}, c.at("name").get<std::string>()};
        for (const auto& v : c.at("values"))
            t.values.emplace_back(v.at("k").get<std::int64_t>(), v.at("trustworthiness").get<double>());
        out.push_back(std::move(t));
    }
    return out;
}

class Trustworthiness : public ::testing::TestWithParam<int> {};

TEST_P(Trustworthiness, MatchesScikitLearnInDoubleAndFloat) {
    int checked = 0;
    for (const auto& c : trust_cases()) {
        for (const auto& [k, expected] : c.values) {
            SCOPED_TRACE(c.name + " k=" + std::to_string(k));
            TrustworthinessOptions o;
            o.k = k;
            o.threads = GetParam();
            EXPECT_TRUE(close(trustworthiness(c.X, c.Z, o), expected));
            // the fixture's values are exact in float, so float input gives the same answer
            const RowMatrixF xf = c.X.cast<float>(), zf = c.Z.cast<float>();
            EXPECT_TRUE(close(trustworthiness(xf, zf, o), expected));
            ++checked;
        }
    }
    EXPECT_EQ(checked, 10);
}

INSTANTIATE_TEST_SUITE_P(Threads, Trustworthiness, ::testing::Values(1, 2, 4));

TEST(TrustworthinessThreads, SameBitsForOneAndTwoThreads) {
    for (const auto& c : trust_cases()) {
        TrustworthinessOptions one, two;
        one.k = two.k = 15;
        one.threads = 1;
        two.threads = 2;
        const double a = trustworthiness(c.X, c.Z, one), b = trustworthiness(c.X, c.Z, two);
        EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0) << c.name;
    }
}

TEST(TrustworthinessEdge, IdentityEmbeddingIsOneAndPreconditionsHold) {
    RowMatrixD X(7, 2);
    for (Eigen::Index i = 0; i < X.rows(); ++i) X.row(i) << static_cast<double>(i * i), static_cast<double>(i % 3);
    TrustworthinessOptions o;
    o.k = 3; // 3 < 7 / 2
    EXPECT_DOUBLE_EQ(trustworthiness(X, X, o), 1.0);
    o.k = 4; // sklearn: n_neighbors must be less than n_samples / 2
    EXPECT_NE(test::error_of([&] { trustworthiness(X, X, o); }).find("less than n / 2 = 3.5"), std::string::npos);
    o.k = 0;
    EXPECT_NE(test::error_of([&] { trustworthiness(X, X, o); }).find("at least 1"), std::string::npos);
    o.k = 2;
    const RowMatrixD shorter = X.topRows(6);
    EXPECT_NE(test::error_of([&] { trustworthiness(X, shorter, o); }).find("X has 7 rows but Z has 6"), std::string::npos);
    RowMatrixD bad = X;
    bad(2, 1) = std::nan("");
    EXPECT_NE(test::error_of([&] { trustworthiness(X, bad, o); }).find("not finite"), std::string::npos);
}

} // namespace
} // namespace scx
