#pragma once
/// @file statistics.hpp
/// @brief The statistics of METHOD.md's benchmark protocol: ranks, Spearman's correlation, the
/// Wilcoxon signed-rank test (over splits, or over unique test donors via group_means) and
/// Benjamini-Hochberg q-values. Each reproduces the pinned scipy (python/requirements.txt);
/// tests/fixtures/eval/make_statistics_fixtures.py writes the reference values.

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace scx {

/// Ranks 1..n of @p values, ties sharing the mean of their ranks (scipy.stats.rankdata's
/// 'average'). Throws scx::Error on NaN, which has no rank.
std::vector<double> average_ranks(const std::vector<double>& values);

/// Spearman's rank correlation with average ranks for ties (scipy.stats.spearmanr's statistic):
/// the Pearson correlation of the ranks. NaN, as in scipy, when either side is constant, when
/// fewer than two pairs are given, or when a value is NaN. Throws scx::Error when the lengths
/// differ.
double spearman(const std::vector<double>& x, const std::vector<double>& y);

/// The alternative hypothesis about the differences' location (scipy's `alternative`).
enum class Alternative {
    two_sided, ///< the median difference is not zero
    greater,   ///< the differences are shifted above zero
    less,      ///< the differences are shifted below zero
};

/// How the Wilcoxon p-value is obtained.
enum class WilcoxonMethod {
    /// Option only: scipy's method='auto', resolved to one of the three below (see
    /// WilcoxonOptions::method).
    automatic,
    /// The exact null distribution of the positive-rank sum for untied ranks 1..n_nonzero. When
    /// forced on data with ties, the statistic is rounded conservatively as scipy does.
    exact,
    /// The exact null distribution given the tied (average) ranks: every sign assignment of the
    /// non-zero differences equally likely. scipy computes it by exhaustively flipping signs
    /// (stats.PermutationMethod with 2^n <= 9999); here a counting recursion over doubled rank
    /// sums gives the same counts.
    permutation,
    /// The normal approximation with the tie correction of the variance and no continuity
    /// correction (scipy's method='asymptotic', correction=False).
    normal,
};

/// "auto", "exact", "permutation" or "normal".
const char* wilcoxon_method_name(WilcoxonMethod method);

struct WilcoxonOptions {
    Alternative alternative = Alternative::two_sided; ///< METHOD.md: paired two-sided
    /// automatic reproduces scipy.stats.wilcoxon(d) (method='auto') of the pinned scipy 1.17:
    /// more than 50 differences (zeros included): normal; otherwise no zero and no tied |d|:
    /// exact; otherwise at most 13 differences (zeros included): permutation; otherwise normal.
    /// exact and normal force that method; permutation is exhaustive for any n (O(n^3) time).
    WilcoxonMethod method = WilcoxonMethod::automatic;
};

struct WilcoxonResult {
    /// Two-sided: min(R+, R-); one-sided: R+ (scipy's convention). R+ is the sum of the average
    /// ranks of |d| over the positive differences, zeros dropped first (zero_method='wilcox').
    double statistic = 0;
    /// 1 when every difference is zero (documented choice: no evidence of a difference; scipy
    /// returns 1 for up to 13 zeros and NaN beyond).
    double pvalue = 1;
    /// The method used, as wilcoxon_method_name gives it: "exact", "permutation" or "normal"
    /// (never "auto").
    std::string method;
    std::int64_t n = 0;      ///< non-zero differences (the ones ranked)
    std::int64_t n_zero = 0; ///< differences equal to zero (dropped)
    /// With method normal: (R+ - n(n+1)/4) / sd, negated absolute value when two-sided (scipy's
    /// zstatistic); NaN otherwise and when every difference is zero.
    double zstatistic = std::numeric_limits<double>::quiet_NaN();
};

/// Wilcoxon signed-rank test of paired @p differences (a - b per split, or per unique test
/// donor after group_means), as scipy.stats.wilcoxon(d, zero_method='wilcox',
/// correction=False, alternative, method). Throws scx::Error when @p differences is empty or
/// holds a NaN or an infinity.
WilcoxonResult wilcoxon_signed_rank(const std::vector<double>& differences, const WilcoxonOptions& options = {});

struct GroupMeansResult {
    std::vector<std::string> groups; ///< the distinct groups, sorted
    std::vector<double> means;       ///< mean of the values of each group
    std::vector<std::int64_t> counts; ///< values per group
};

/// Means of @p values per group, groups in sorted order. The bench uses it to test over unique
/// test donors: splits share held-out donors, so per-split differences are not independent,
/// while one mean difference per donor is. Throws scx::Error when the lengths differ.
GroupMeansResult group_means(const std::vector<double>& values, const std::vector<std::string>& groups);

/// P(X >= @p k) for X hypergeometric: @p draws taken without replacement from @p population
/// items of which @p successes are marked (scipy.stats.hypergeom.sf(k - 1, population,
/// successes, draws)). Summed in log space, so populations of whole genomes are exact to
/// double rounding. Throws scx::Error on counts that cannot describe a draw.
double hypergeometric_upper_tail(std::int64_t k, std::int64_t population, std::int64_t successes, std::int64_t draws);

/// Benjamini-Hochberg q-values of @p pvalues in input order (scipy.stats.
/// false_discovery_control(method='bh'), statsmodels multipletests 'fdr_bh'):
/// q_(i) = min over j >= i of min(1, p_(j) m / j) for the sorted p-values. A NaN p-value (an
/// endpoint that was not applicable) stays NaN and does not count towards m. Throws scx::Error
/// for a p-value outside [0, 1].
std::vector<double> benjamini_hochberg(const std::vector<double>& pvalues);

} // namespace scx
