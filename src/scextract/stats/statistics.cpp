#include "scextract/stats/statistics.hpp"

#include "scextract/core/error.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include <fmt/format.h>

namespace scx {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Standard normal CDF, split as cephes' ndtr (which scipy uses) so that both tails keep
/// their relative precision.
double normal_cdf(double x) {
    const double t = x * M_SQRT1_2;
    if (std::abs(t) < M_SQRT1_2) return 0.5 + 0.5 * std::erf(t);
    const double y = 0.5 * std::erfc(std::abs(t));
    return t > 0 ? 1.0 - y : y;
}

/// Probability of each sum 0..sum(weights) when each weight is added with probability 1/2:
/// the null distribution of the positive-rank sum. Halving at every step (as scipy's
/// _get_wilcoxon_distr does) keeps the values dyadic, so they are exact up to ~53 weights.
std::vector<double> subset_sum_distribution(const std::vector<std::int64_t>& weights) {
    const std::int64_t total = std::accumulate(weights.begin(), weights.end(), std::int64_t{0});
    std::vector<double> p(static_cast<std::size_t>(total) + 1, 0.0);
    p[0] = 1.0;
    std::int64_t reach = 0; // the largest sum reachable so far
    for (const std::int64_t w : weights) {
        reach += w;
        for (std::int64_t s = reach; s >= 0; --s) {
            const double with = s >= w ? p[static_cast<std::size_t>(s - w)] : 0.0;
            p[static_cast<std::size_t>(s)] = 0.5 * p[static_cast<std::size_t>(s)] + 0.5 * with;
        }
    }
    return p;
}

double sum_range(const std::vector<double>& p, std::int64_t begin, std::int64_t end) {
    begin = std::max<std::int64_t>(begin, 0);
    end = std::min<std::int64_t>(end, static_cast<std::int64_t>(p.size()));
    double s = 0;
    for (std::int64_t i = begin; i < end; ++i) s += p[static_cast<std::size_t>(i)];
    return s;
}

/// P(S <= k) and P(S >= k) for the untied distribution, each summed over the shorter side of
/// the mean as scipy's WilcoxonDistribution does.
double exact_cdf(const std::vector<double>& p, std::int64_t k, double mean) {
    const auto size = static_cast<std::int64_t>(p.size());
    return static_cast<double>(k) <= mean ? sum_range(p, 0, k + 1) : 1.0 - sum_range(p, k + 1, size);
}
double exact_sf(const std::vector<double>& p, std::int64_t k, double mean) {
    const auto size = static_cast<std::int64_t>(p.size());
    return static_cast<double>(k) <= mean ? sum_range(p, k, size) : 1.0 - sum_range(p, 0, k);
}

WilcoxonMethod resolve_method(WilcoxonMethod requested, std::size_t n_total, bool has_ties, std::int64_t n_zero) {
    if (requested != WilcoxonMethod::automatic) return requested;
    // scipy 1.17 _wilcoxon.py: the size tests count the zeros, which are dropped only later.
    if (n_total > 50) return WilcoxonMethod::normal;
    if (!has_ties && n_zero == 0) return WilcoxonMethod::exact;
    // 2^13 <= 9999 (scipy's default n_resamples): its permutation test is then exhaustive.
    return n_total <= 13 ? WilcoxonMethod::permutation : WilcoxonMethod::normal;
}

} // namespace

std::vector<double> average_ranks(const std::vector<double>& values) {
    for (std::size_t i = 0; i < values.size(); ++i)
        if (std::isnan(values[i])) throw Error(fmt::format("average_ranks: value {} is NaN", i));
    std::vector<std::size_t> idx(values.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](auto a, auto b) { return values[a] < values[b]; });
    std::vector<double> r(values.size());
    for (std::size_t i = 0; i < idx.size();) {
        std::size_t j = i;
        while (j + 1 < idx.size() && values[idx[j + 1]] == values[idx[i]]) ++j;
        // ranks i+1..j+1 share their mean
        const double rank = 0.5 * static_cast<double>(i + j) + 1.0;
        for (std::size_t k = i; k <= j; ++k) r[idx[k]] = rank;
        i = j + 1;
    }
    return r;
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
    if (x.size() != y.size())
        throw Error(fmt::format("spearman: x has {} values but y has {}", x.size(), y.size()));
    if (x.size() < 2) return kNaN;
    const auto is_nan = [](double v) { return std::isnan(v); };
    if (std::any_of(x.begin(), x.end(), is_nan) || std::any_of(y.begin(), y.end(), is_nan)) return kNaN;
    const auto rx = average_ranks(x), ry = average_ranks(y);
    const double mx = std::accumulate(rx.begin(), rx.end(), 0.0) / static_cast<double>(rx.size());
    const double my = std::accumulate(ry.begin(), ry.end(), 0.0) / static_cast<double>(ry.size());
    double c = 0, vx = 0, vy = 0;
    for (std::size_t i = 0; i < rx.size(); ++i) {
        c += (rx[i] - mx) * (ry[i] - my);
        vx += (rx[i] - mx) * (rx[i] - mx);
        vy += (ry[i] - my) * (ry[i] - my);
    }
    // a constant side has all ranks equal, hence zero rank variance
    if (!(vx > 0 && vy > 0)) return kNaN;
    return std::clamp(c / std::sqrt(vx * vy), -1.0, 1.0);
}

const char* wilcoxon_method_name(WilcoxonMethod method) {
    switch (method) {
    case WilcoxonMethod::automatic: return "auto";
    case WilcoxonMethod::exact: return "exact";
    case WilcoxonMethod::permutation: return "permutation";
    case WilcoxonMethod::normal: return "normal";
    }
    return "?";
}

WilcoxonResult wilcoxon_signed_rank(const std::vector<double>& differences, const WilcoxonOptions& options) {
    if (differences.empty()) throw Error("wilcoxon: no differences");
    std::vector<double> magnitude;
    std::vector<bool> positive;
    WilcoxonResult result;
    for (std::size_t i = 0; i < differences.size(); ++i) {
        const double d = differences[i];
        if (!std::isfinite(d)) throw Error(fmt::format("wilcoxon: difference {} is {}", i, d));
        if (d == 0) {
            ++result.n_zero; // zero_method='wilcox': zeros are dropped before ranking
            continue;
        }
        magnitude.push_back(std::abs(d));
        positive.push_back(d > 0);
    }
    const auto n = static_cast<std::int64_t>(magnitude.size());
    result.n = n;

    const std::vector<double> rank = average_ranks(magnitude);
    double r_plus = 0, r_minus = 0;
    for (std::int64_t i = 0; i < n; ++i) (positive[i] ? r_plus : r_minus) += rank[i];
    // tie groups of |d|: sum of t^3 - t for the variance, and whether any exists
    std::vector<double> sorted = magnitude;
    std::sort(sorted.begin(), sorted.end());
    double tie_correction = 0;
    bool has_ties = false;
    for (std::size_t i = 0; i < sorted.size();) {
        std::size_t j = i;
        while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
        const auto t = static_cast<double>(j - i);
        if (j - i > 1) has_ties = true;
        tie_correction += t * t * t - t;
        i = j;
    }

    const WilcoxonMethod method = resolve_method(options.method, differences.size(), has_ties, result.n_zero);
    result.method = wilcoxon_method_name(method);
    const bool two_sided = options.alternative == Alternative::two_sided;
    result.statistic = two_sided ? std::min(r_plus, r_minus) : r_plus;
    if (n == 0) {
        // Every difference is zero: no evidence either way (scipy gives 1 or NaN by size).
        result.pvalue = 1.0;
        return result;
    }

    const auto count = static_cast<double>(n);
    const double mean = count * (count + 1.0) * 0.25;
    switch (method) {
    case WilcoxonMethod::normal: {
        const double sd = std::sqrt((count * (count + 1.0) * (2.0 * count + 1.0) - tie_correction / 2) / 24);
        const double z = (r_plus - mean) / sd;
        if (options.alternative == Alternative::less) result.pvalue = normal_cdf(z);
        else if (options.alternative == Alternative::greater) result.pvalue = normal_cdf(-z);
        else result.pvalue = 2 * normal_cdf(-std::abs(z));
        result.zstatistic = two_sided ? -std::abs(z) : z;
        break;
    }
    case WilcoxonMethod::exact: {
        std::vector<std::int64_t> weights(static_cast<std::size_t>(n));
        std::iota(weights.begin(), weights.end(), std::int64_t{1});
        const auto p = subset_sum_distribution(weights);
        // With ties R+ can be a half-integer: round towards the conservative side (scipy gh-19872).
        const auto up = static_cast<std::int64_t>(std::ceil(r_plus));
        const auto down = static_cast<std::int64_t>(std::floor(r_plus));
        if (options.alternative == Alternative::less) result.pvalue = exact_cdf(p, up, mean);
        else if (options.alternative == Alternative::greater) result.pvalue = exact_sf(p, down, mean);
        else result.pvalue = std::clamp(2 * std::min(exact_sf(p, down, mean), exact_cdf(p, up, mean)), 0.0, 1.0);
        break;
    }
    case WilcoxonMethod::permutation: {
        // Average ranks are multiples of 1/2: doubled, the rank sums are integers.
        std::vector<std::int64_t> weights(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) weights[i] = static_cast<std::int64_t>(std::llround(2 * rank[i]));
        const auto p = subset_sum_distribution(weights);
        const auto observed = static_cast<std::int64_t>(std::llround(2 * r_plus));
        const auto size = static_cast<std::int64_t>(p.size());
        const double p_less = sum_range(p, 0, observed + 1), p_greater = sum_range(p, observed, size);
        if (options.alternative == Alternative::less) result.pvalue = std::min(p_less, 1.0);
        else if (options.alternative == Alternative::greater) result.pvalue = std::min(p_greater, 1.0);
        else result.pvalue = std::min(2 * std::min(p_less, p_greater), 1.0);
        break;
    }
    case WilcoxonMethod::automatic: break; // resolved above
    }
    return result;
}

GroupMeansResult group_means(const std::vector<double>& values, const std::vector<std::string>& groups) {
    if (values.size() != groups.size())
        throw Error(fmt::format("group_means: {} values but {} groups", values.size(), groups.size()));
    std::map<std::string, std::pair<double, std::int64_t>> acc; // sorted, summed in input order
    for (std::size_t i = 0; i < values.size(); ++i) {
        auto& [sum, count] = acc[groups[i]];
        sum += values[i];
        ++count;
    }
    GroupMeansResult out;
    for (const auto& [group, sc] : acc) {
        out.groups.push_back(group);
        out.means.push_back(sc.first / static_cast<double>(sc.second));
        out.counts.push_back(sc.second);
    }
    return out;
}

std::vector<double> benjamini_hochberg(const std::vector<double>& pvalues) {
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < pvalues.size(); ++i) {
        const double p = pvalues[i];
        if (std::isnan(p)) continue; // not applicable: stays NaN, not counted in m
        if (p < 0 || p > 1) throw Error(fmt::format("benjamini_hochberg: p-value {} is {}, not in [0, 1]", i, p));
        order.push_back(i);
    }
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return pvalues[a] < pvalues[b]; });
    std::vector<double> q(pvalues.size(), kNaN);
    const auto m = static_cast<double>(order.size());
    double running = 1.0; // the minimum over larger p-values, capped at 1
    for (std::size_t j = order.size(); j-- > 0;) {
        running = std::min(running, pvalues[order[j]] * (m / static_cast<double>(j + 1)));
        q[order[j]] = running;
    }
    return q;
}

} // namespace scx

namespace scx {

double hypergeometric_upper_tail(std::int64_t k, std::int64_t population, std::int64_t successes, std::int64_t draws) {
    if (population < 0 || successes < 0 || draws < 0 || successes > population || draws > population)
        throw Error(fmt::format("hypergeometric: {} marked and {} drawn of {} items", successes, draws, population));
    const auto lo = std::max<std::int64_t>(0, draws - (population - successes));
    const auto hi = std::min(successes, draws);
    if (k <= lo) return 1.0;
    if (k > hi) return 0.0;
    const auto log_choose = [](std::int64_t n, std::int64_t r) {
        return std::lgamma(static_cast<double>(n) + 1) - std::lgamma(static_cast<double>(r) + 1) -
               std::lgamma(static_cast<double>(n - r) + 1);
    };
    const double log_total = log_choose(population, draws);
    // the terms fall off past the mode; summing from the largest keeps the log-sum-exp exact
    std::vector<double> terms;
    for (auto i = k; i <= hi; ++i)
        terms.push_back(log_choose(successes, i) + log_choose(population - successes, draws - i) - log_total);
    const double top = *std::max_element(terms.begin(), terms.end());
    double sum = 0;
    for (const double t : terms) sum += std::exp(t - top);
    return std::min(1.0, std::exp(top) * sum);
}

} // namespace scx
