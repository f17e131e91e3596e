#include "scextract/core/error.hpp"
#include "scextract/stats/statistics.hpp"

#include "../support/error_of.hpp"
#include "../support/json_fixture.hpp"
#include "../support/numeric_close.hpp"

#include <gtest/gtest.h>

#include <cmath>
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

double number_or_nan(const json& j) {
    return j.is_null() ? std::numeric_limits<double>::quiet_NaN() : j.get<double>();
}

::testing::AssertionResult close(double a, double b, double tol = kTol) { return test::numerically_close(a, b, tol); }

Alternative alternative_of(const std::string& s) {
    if (s == "greater") return Alternative::greater;
    if (s == "less") return Alternative::less;
    return Alternative::two_sided;
}

WilcoxonMethod method_of(const std::string& s) {
    if (s == "exact") return WilcoxonMethod::exact;
    if (s == "asymptotic") return WilcoxonMethod::normal;
    return WilcoxonMethod::automatic;
}

TEST(EvalFixture, RecordsTheGeneratingVersions) {
    EXPECT_EQ(reference().at("scipy").get<std::string>(), "1.17.1");
    EXPECT_EQ(reference().at("sklearn").get<std::string>(), "1.9.1");
}

TEST(Wilcoxon, MatchesScipy) {
    int n_cases = 0;
    for (const auto& c : reference().at("wilcoxon")) {
        SCOPED_TRACE(c.at("name").get<std::string>());
        WilcoxonOptions o;
        o.alternative = alternative_of(c.at("alternative").get<std::string>());
        o.method = method_of(c.at("method_option").get<std::string>());
        const auto d = doubles(c.at("d"));
        const WilcoxonResult r = wilcoxon_signed_rank(d, o);
        EXPECT_EQ(r.method, c.at("method").get<std::string>());
        EXPECT_EQ(r.n, c.at("n_nonzero").get<std::int64_t>());
        EXPECT_EQ(r.n + r.n_zero, static_cast<std::int64_t>(d.size()));
        EXPECT_TRUE(close(r.statistic, c.at("statistic").get<double>()));
        if (r.n == 0) {
            EXPECT_EQ(r.pvalue, 1.0); // documented: scipy gives 1 (n <= 13) or NaN
        } else {
            EXPECT_TRUE(close(r.pvalue, c.at("pvalue").get<double>()));
            // small p-values agree relatively too
            const double p = c.at("pvalue").get<double>();
            EXPECT_LE(std::abs(r.pvalue - p), 1e-10 * p) << r.pvalue << " vs " << p;
        }
        if (r.method == "normal" && r.n > 0) EXPECT_TRUE(close(r.zstatistic, c.at("zstatistic").get<double>()));
        else EXPECT_TRUE(std::isnan(r.zstatistic));
        ++n_cases;
    }
    EXPECT_GE(n_cases, 30);
}

TEST(Wilcoxon, AutoPicksScipysMethodBySizeTiesAndZeros) {
    std::vector<double> untied(50), tied(14), zeros(13);
    for (std::size_t i = 0; i < untied.size(); ++i) untied[i] = (i % 2 ? 1.0 : -1.0) * static_cast<double>(i + 1);
    EXPECT_EQ(wilcoxon_signed_rank(untied).method, "exact"); // 50 untied: still exact
    untied.push_back(100.0);
    EXPECT_EQ(wilcoxon_signed_rank(untied).method, "normal"); // 51: normal
    for (std::size_t i = 0; i < tied.size(); ++i) tied[i] = static_cast<double>(i / 2 + 1);
    EXPECT_EQ(wilcoxon_signed_rank(tied).method, "normal"); // ties at n = 14
    tied.pop_back();
    EXPECT_EQ(wilcoxon_signed_rank(tied).method, "permutation"); // ties at n = 13
    for (std::size_t i = 0; i < zeros.size(); ++i) zeros[i] = static_cast<double>(i); // one zero
    EXPECT_EQ(wilcoxon_signed_rank(zeros).method, "permutation");
    WilcoxonOptions forced;
    forced.method = WilcoxonMethod::normal;
    EXPECT_EQ(wilcoxon_signed_rank(zeros, forced).method, "normal");
}

TEST(Wilcoxon, HandCheckedExactValues) {
    // All 5 positive, untied: R+ = 15 is the single most extreme of 2^5 sign patterns.
    const auto r = wilcoxon_signed_rank({1, 2, 3, 4, 5});
    EXPECT_EQ(r.method, "exact");
    EXPECT_EQ(r.statistic, 0.0); // min(R+, R-)
    EXPECT_DOUBLE_EQ(r.pvalue, 2.0 / 32.0);
    WilcoxonOptions greater;
    greater.alternative = Alternative::greater;
    const auto g = wilcoxon_signed_rank({1, 2, 3, 4, 5}, greater);
    EXPECT_EQ(g.statistic, 15.0); // one-sided: R+
    EXPECT_DOUBLE_EQ(g.pvalue, 1.0 / 32.0);
    // Antisymmetric: the two-sided p-value does not depend on which side is subtracted.
    EXPECT_DOUBLE_EQ(wilcoxon_signed_rank({-1, -2, -3, -4, -5}).pvalue, r.pvalue);
}

TEST(Wilcoxon, PermutationCountsSignPatternsWithTies) {
    // |d| = 1, 1, 2: ranks 1.5, 1.5, 3; R+ = 6 is reached only by all-positive (1 of 8).
    const auto r = wilcoxon_signed_rank({1, 1, 2});
    EXPECT_EQ(r.method, "permutation");
    EXPECT_DOUBLE_EQ(r.pvalue, 2.0 / 8.0);
    // A zero is dropped and does not change the distribution.
    EXPECT_DOUBLE_EQ(wilcoxon_signed_rank({1, 0, 1, 2}).pvalue, 2.0 / 8.0);
}

TEST(Wilcoxon, AllZeroDifferencesGivePOne) {
    for (const std::size_t n : {1u, 5u, 13u, 14u, 60u}) {
        const auto r = wilcoxon_signed_rank(std::vector<double>(n, 0.0));
        EXPECT_EQ(r.pvalue, 1.0) << n;
        EXPECT_EQ(r.statistic, 0.0);
        EXPECT_EQ(r.n, 0);
        EXPECT_EQ(r.n_zero, static_cast<std::int64_t>(n));
    }
}

TEST(Wilcoxon, RejectsEmptyAndNonFinite) {
    EXPECT_NE(test::error_of([] { wilcoxon_signed_rank({}); }).find("no differences"), std::string::npos);
    EXPECT_NE(test::error_of([] { wilcoxon_signed_rank({1.0, std::nan("")}); }).find("difference 1"), std::string::npos);
    EXPECT_NE(test::error_of([] { wilcoxon_signed_rank({1.0, INFINITY}); }).find("difference 1"), std::string::npos);
}

TEST(Wilcoxon, OverUniqueDonorsViaGroupMeans) {
    // Three splits share donor "b": one mean difference per donor, donors sorted.
    const auto g = group_means({0.1, 0.3, 0.2, -0.4, 0.5}, {"b", "a", "b", "c", "b"});
    ASSERT_EQ(g.groups, (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(g.counts, (std::vector<std::int64_t>{1, 3, 1}));
    EXPECT_DOUBLE_EQ(g.means[0], 0.3);
    EXPECT_DOUBLE_EQ(g.means[1], (0.1 + 0.2 + 0.5) / 3);
    EXPECT_DOUBLE_EQ(g.means[2], -0.4);
    const auto r = wilcoxon_signed_rank(g.means);
    EXPECT_EQ(r.n, 3);
    EXPECT_NE(test::error_of([] { group_means({1.0}, {}); }).find("group_means"), std::string::npos);
}

TEST(BenjaminiHochberg, MatchesScipyAndStatsmodels) {
    for (const auto& c : reference().at("benjamini_hochberg")) {
        SCOPED_TRACE(c.at("name").get<std::string>());
        const auto q = benjamini_hochberg(doubles(c.at("p")));
        const auto expected = doubles(c.at("q"));
        ASSERT_EQ(q.size(), expected.size());
        for (std::size_t i = 0; i < q.size(); ++i) EXPECT_TRUE(close(q[i], expected[i])) << i;
    }
}

TEST(BenjaminiHochberg, EdgeCases) {
    EXPECT_TRUE(benjamini_hochberg({}).empty());
    // Ties share a q-value; NaN passes through and is not counted in m (m = 2 here).
    const auto q = benjamini_hochberg({0.02, std::nan(""), 0.02});
    EXPECT_DOUBLE_EQ(q[0], 0.02);
    EXPECT_TRUE(std::isnan(q[1]));
    EXPECT_DOUBLE_EQ(q[2], 0.02);
    EXPECT_DOUBLE_EQ(benjamini_hochberg({0.01, 0.04})[0], 0.02);
    EXPECT_NE(test::error_of([] { benjamini_hochberg({0.5, 1.5}); }).find("p-value 1 is 1.5"), std::string::npos);
    EXPECT_NE(test::error_of([] { benjamini_hochberg({-0.1}); }).find("not in [0, 1]"), std::string::npos);
}

TEST(Spearman, MatchesScipy) {
    for (const auto& c : reference().at("spearman")) {
        SCOPED_TRACE(c.at("name").get<std::string>());
        const auto x = doubles(c.at("x")), y = doubles(c.at("y"));
        EXPECT_TRUE(close(spearman(x, y), number_or_nan(c.at("rho"))));
        const auto ranks = average_ranks(x), expected = doubles(c.at("ranks_x"));
        ASSERT_EQ(ranks.size(), expected.size());
        for (std::size_t i = 0; i < ranks.size(); ++i) EXPECT_EQ(ranks[i], expected[i]) << i;
    }
}

TEST(Spearman, EdgeCases) {
    EXPECT_DOUBLE_EQ(spearman({1, 2, 3, 4}, {10, 20, 30, 1000}), 1.0);
    EXPECT_DOUBLE_EQ(spearman({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
    EXPECT_TRUE(std::isnan(spearman({1, 1, 1}, {1, 2, 3})));  // constant side
    EXPECT_TRUE(std::isnan(spearman({1}, {2})));              // fewer than two pairs
    EXPECT_TRUE(std::isnan(spearman({1, std::nan(""), 3}, {1, 2, 3})));
    EXPECT_NE(test::error_of([] { spearman({1, 2}, {1, 2, 3}); }).find("x has 2 values but y has 3"), std::string::npos);
    EXPECT_EQ(average_ranks({3, 1, 3, 2}), (std::vector<double>{3.5, 1, 3.5, 2}));
    EXPECT_NE(test::error_of([] { average_ranks({1, std::nan("")}); }).find("NaN"), std::string::npos);
}

} // namespace
} // namespace scx
