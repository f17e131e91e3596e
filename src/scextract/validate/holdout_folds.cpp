#include "scextract/validate/holdout_folds.hpp"

#include "scextract/core/shuffle.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

HoldoutFold random_group_fold(const ManifoldData& d, double fraction, std::uint64_t seed) {
    const auto n = d.n_cells();
    std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t>, std::int64_t> group_of;
    std::vector<std::int64_t> group(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i)
        group[i] = group_of.emplace(std::tuple{d.donor[i], d.tissue[i], d.label[i]}, static_cast<std::int64_t>(group_of.size()))
                       .first->second;
    const auto n_groups = static_cast<std::int64_t>(group_of.size());
    const auto m = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::llround(fraction * static_cast<double>(n_groups))));
    std::vector<char> held_group(static_cast<std::size_t>(n_groups), 0);
    HoldoutFold f{fmt::format("{:.0f}% of donor x tissue x cell-type groups", 100 * fraction),
                  std::vector<char>(static_cast<std::size_t>(n), 0)};
    for (const auto gi : seeded_sample(n_groups, m, seed, 101)) held_group[gi] = 1;
    for (std::int64_t i = 0; i < n; ++i) f.held[i] = held_group[group[i]];
    return f;
}

std::vector<HoldoutFold> donor_holdout_folds(const ManifoldData& d, std::int64_t n_folds, std::uint64_t seed) {
    const auto n_donors = *std::max_element(d.donor.begin(), d.donor.end()) + 1;
    std::vector<std::int64_t> order(static_cast<std::size_t>(n_donors));
    std::iota(order.begin(), order.end(), 0);
    Rng rng(seed, 102);
    for (std::int64_t i = n_donors - 1; i > 0; --i) std::swap(order[i], order[static_cast<std::int64_t>(rng.below(i + 1))]);
    const auto folds = std::min(n_folds, n_donors);
    std::vector<HoldoutFold> out;
    for (std::int64_t fold = 0; fold < folds; ++fold) {
        std::set<std::int64_t> donors;
        for (std::int64_t i = fold; i < n_donors; i += folds) donors.insert(order[i]);
        HoldoutFold f{fmt::format("donors {}", fmt::join(donors, ",")), std::vector<char>(static_cast<std::size_t>(d.n_cells()), 0)};
        for (std::int64_t i = 0; i < d.n_cells(); ++i) f.held[i] = donors.contains(d.donor[i]) ? 1 : 0;
        out.push_back(std::move(f));
    }
    return out;
}

std::vector<HoldoutFold> branch_holdout_folds(const ManifoldData& d, const Ruler& ruler) {
    std::vector<HoldoutFold> out;
    for (const auto& branch : ruler.branches) {
        HoldoutFold f{branch, std::vector<char>(static_cast<std::size_t>(d.n_cells()), 0)};
        std::int64_t count = 0;
        for (std::int64_t i = 0; i < d.n_cells(); ++i)
            if (ruler.stages[d.stage[i]].branch == branch) f.held[i] = 1, ++count;
        if (count > 0) out.push_back(std::move(f)); // a branch the data does not cover is not a fold
    }
    return out;
}

void finish_gate(HoldoutGate& g, double threshold) {
    double sum = 0, worst = std::numeric_limits<double>::infinity();
    for (const auto& [_, s] : g.folds) sum += s, worst = std::min(worst, s);
    if (!g.folds.empty()) {
        g.score = sum / static_cast<double>(g.folds.size());
        g.worst = worst;
    }
    g.passed = std::isfinite(g.score) && g.score >= threshold;
}

std::vector<std::vector<std::int64_t>> donor_tissue_blocks(const ManifoldData& d) {
    std::map<std::pair<std::int64_t, std::int64_t>, std::vector<std::int64_t>> by_block;
    for (std::int64_t i = 0; i < d.n_cells(); ++i) by_block[{d.donor[i], d.tissue[i]}].push_back(i);
    std::vector<std::vector<std::int64_t>> blocks;
    for (auto& [_, rows] : by_block) blocks.push_back(std::move(rows));
    return blocks;
}

void permute_within_blocks(const ManifoldData& d, Rng& rng, std::vector<std::int64_t>& stage, std::vector<std::int64_t>& label,
                           const std::vector<std::vector<std::int64_t>>& blocks) {
    stage = d.stage;
    label = d.label;
    for (const auto& rows : blocks) {
        for (std::int64_t i = static_cast<std::int64_t>(rows.size()) - 1; i > 0; --i) {
            const auto j = static_cast<std::int64_t>(rng.below(i + 1));
            std::swap(stage[rows[i]], stage[rows[j]]);
            std::swap(label[rows[i]], label[rows[j]]);
        }
    }
}

PermutationTest summarize_permutations(double observed, const std::vector<double>& null, double alpha) {
    PermutationTest t;
    t.permutations = static_cast<std::int64_t>(null.size());
    t.observed = observed;
    t.alpha = alpha;
    std::int64_t ge = 0, le = 0, valid = 0;
    double sum = 0, sum2 = 0, mx = -std::numeric_limits<double>::infinity();
    for (const double v : null) {
        // a permutation that cannot be scored counts against the observed value (conservative)
        if (!std::isfinite(v)) {
            ++ge, ++le;
            continue;
        }
        ++valid;
        sum += v, sum2 += v * v, mx = std::max(mx, v);
        ge += v >= observed;
        le += v <= observed;
    }
    const double denom = static_cast<double>(t.permutations + 1);
    if (valid > 0) {
        t.null_mean = sum / static_cast<double>(valid);
        t.null_sd = std::sqrt(std::max(0.0, sum2 / static_cast<double>(valid) - t.null_mean * t.null_mean));
        t.null_max = mx;
    }
    t.p_greater = static_cast<double>(1 + ge) / denom;
    t.p_two_sided = std::min(1.0, 2.0 * std::min(t.p_greater, static_cast<double>(1 + le) / denom));
    t.p_floor_greater = 1.0 / denom;
    t.p_floor_two_sided = std::min(1.0, 2.0 / denom);
    t.passed = t.p_greater <= t.alpha;
    return t;
}

} // namespace scx
