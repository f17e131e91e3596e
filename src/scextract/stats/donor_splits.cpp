#include "scextract/stats/donor_splits.hpp"

#include "scextract/core/shuffle.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/random.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>

#include <fmt/format.h>

namespace scx {

std::int64_t possible_donor_splits(std::int64_t n, std::int64_t k) {
    if (k < 0 || k > n) return 0;
    k = std::min(k, n - k);
    // C(n, i) = C(n, i-1) * (n - k + i) / i stays an integer at every step.
    unsigned __int128 c = 1;
    for (std::int64_t i = 1; i <= k; ++i) {
        c = c * static_cast<unsigned __int128>(n - k + i) / static_cast<unsigned __int128>(i);
        if (c > static_cast<unsigned __int128>(std::numeric_limits<std::int64_t>::max()))
            return std::numeric_limits<std::int64_t>::max();
    }
    return static_cast<std::int64_t>(c);
}

namespace {

/// Every k-subset of 0..n-1 in lexicographic order.
std::vector<std::vector<std::int64_t>> all_subsets(std::int64_t n, std::int64_t k) {
    std::vector<std::vector<std::int64_t>> out;
    std::vector<std::int64_t> s(static_cast<std::size_t>(k));
    std::iota(s.begin(), s.end(), 0);
    for (;;) {
        out.push_back(s);
        std::int64_t i = k - 1;
        while (i >= 0 && s[i] == n - k + i) --i;
        if (i < 0) break;
        ++s[i];
        for (std::int64_t j = i + 1; j < k; ++j) s[j] = s[j - 1] + 1;
    }
    return out;
}

} // namespace

DonorSplitResult make_donor_splits(const std::vector<std::int64_t>& donor, std::int64_t n_donors,
                                   const DonorSplitOptions& options) {
    if (n_donors < 2) throw Error(fmt::format("donor-holdout splits need at least 2 donors, found {}", n_donors));
    for (const auto d : donor)
        if (d < 0 || d >= n_donors) throw Error(fmt::format("donor code {} outside 0..{}", d, n_donors - 1));
    if (options.n_splits < 1) throw Error("the number of splits must be at least 1");
    if (options.max_train_cells < 1) throw Error("the training-cell cap must be at least 1");
    const std::int64_t k = options.test_donors > 0
                               ? options.test_donors
                               : std::max<std::int64_t>(1, static_cast<std::int64_t>(std::llround(0.2 * static_cast<double>(n_donors))));
    if (k >= n_donors)
        throw Error(fmt::format("{} test donors per split leave no training donor: there are {} donors", k, n_donors));
    const auto possible = possible_donor_splits(n_donors, k);
    if (options.n_splits > possible)
        throw Error(fmt::format("{} splits asked for, but {} donors with {} held out per split allow only {} distinct splits",
                                options.n_splits, n_donors, k, possible));

    Rng rng(options.seed, 0x5B117);
    std::vector<std::vector<std::int64_t>> sets;
    std::set<std::vector<std::int64_t>> seen;
    if (possible <= 4 * options.n_splits) {
        // Few sets exist: rejection would stall, so draw from all of them.
        auto all = all_subsets(n_donors, k);
        shuffle_in_place(all, rng);
        all.resize(static_cast<std::size_t>(options.n_splits));
        sets = std::move(all);
    } else {
        std::vector<std::int64_t> order(static_cast<std::size_t>(n_donors));
        while (static_cast<std::int64_t>(sets.size()) < options.n_splits) {
            std::iota(order.begin(), order.end(), 0);
            shuffle_in_place(order, rng);
            for (std::int64_t b = 0; b + k <= n_donors && static_cast<std::int64_t>(sets.size()) < options.n_splits; b += k) {
                std::vector<std::int64_t> s(order.begin() + b, order.begin() + b + k);
                std::sort(s.begin(), s.end());
                if (seen.insert(s).second) sets.push_back(std::move(s));
            }
        }
    }

    DonorSplitResult r;
    r.test_donors_per_split = k;
    r.seed = options.seed;
    r.max_train_cells = options.max_train_cells;
    std::vector<char> ever(static_cast<std::size_t>(n_donors), 0);
    const auto n = static_cast<std::int64_t>(donor.size());
    for (std::int64_t si = 0; si < options.n_splits; ++si) {
        DonorSplit split;
        split.index = si;
        split.test_donors = sets[static_cast<std::size_t>(si)];
        std::vector<char> held(static_cast<std::size_t>(n_donors), 0);
        for (const auto d : split.test_donors) held[d] = ever[d] = 1;
        for (std::int64_t i = 0; i < n; ++i) (held[donor[i]] ? split.test : split.train).push_back(i);
        if (static_cast<std::int64_t>(split.train.size()) > options.max_train_cells) {
            // A seeded partial Fisher-Yates per split: the cap is reproducible and independent of other splits.
            Rng cap(options.seed, 0xCA9 + static_cast<std::uint64_t>(si));
            for (std::int64_t i = 0; i < options.max_train_cells; ++i) {
                const auto j = i + static_cast<std::int64_t>(cap.below(static_cast<std::uint64_t>(split.train.size()) - static_cast<std::uint64_t>(i)));
                std::swap(split.train[i], split.train[j]);
            }
            split.train.resize(static_cast<std::size_t>(options.max_train_cells));
            std::sort(split.train.begin(), split.train.end());
        }
        r.splits.push_back(std::move(split));
    }
    for (std::int64_t d = 0; d < n_donors; ++d)
        if (ever[d]) r.distinct_test_donors.push_back(d);
    return r;
}

} // namespace scx
