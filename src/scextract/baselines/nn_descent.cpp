#include "scextract/baselines/nn_descent.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <utility>

#include <fmt/format.h>

namespace scx {

namespace {

constexpr std::int64_t kCellChunk = 256; // cells per task; fixed, so chunks do not follow the thread count
constexpr float kEmpty = std::numeric_limits<float>::infinity();
constexpr std::int32_t kNoCell = std::numeric_limits<std::int32_t>::max();

std::uint64_t mix(std::uint64_t z) { // splitmix64's finaliser
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

std::uint64_t hash4(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t d) {
    return mix(a ^ mix(b ^ mix(c ^ mix(d))));
}

/// Squared euclidean distance in float, summed in eight fixed lanes so that the compiler
/// vectorises it and the bits do not depend on which thread asks. Symmetric in a and b.
float squared_distance(const float* a, const float* b, std::int64_t dim) {
    float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::int64_t i = 0;
    for (; i + 8 <= dim; i += 8)
        for (int l = 0; l < 8; ++l) {
            const float t = a[i + l] - b[i + l];
            lane[l] += t * t;
        }
    for (int l = 0; i < dim; ++i, ++l) {
        const float t = a[i] - b[i];
        lane[l] += t * t;
    }
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

/// Dot product in float, in the same eight fixed lanes.
float dot(const float* a, const float* b, std::int64_t dim) {
    float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::int64_t i = 0;
    for (; i + 8 <= dim; i += 8)
        for (int l = 0; l < 8; ++l) lane[l] += a[i + l] * b[i + l];
    for (int l = 0; i < dim; ++i, ++l) lane[l] += a[i] * b[i];
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

/// The neighbour lists: per cell k slots sorted by (distance, index), empty slots last.
/// insert() keeps the k best of everything offered, whatever the order of the offers.
class NeighborLists {
public:
    NeighborLists(std::int64_t n, std::int64_t k)
        : n_(n), k_(k), dist_(static_cast<std::size_t>(n * k), kEmpty), index_(static_cast<std::size_t>(n * k), kNoCell),
          round_(static_cast<std::size_t>(n * k), -1), fresh_(static_cast<std::size_t>(n * k), 0),
          worst_(std::make_unique<std::atomic<float>[]>(static_cast<std::size_t>(n))),
          lock_(std::make_unique<std::atomic<bool>[]>(static_cast<std::size_t>(n))) {
        for (std::int64_t i = 0; i < n; ++i) {
            worst_[static_cast<std::size_t>(i)].store(kEmpty, std::memory_order_relaxed);
            lock_[static_cast<std::size_t>(i)].store(false, std::memory_order_relaxed);
        }
    }

    /// Offers @p j at squared distance @p d to cell @p i's list; true when it went in.
    bool insert(std::int64_t i, std::int32_t j, float d, int round) {
        // the worst entry only improves, so a stale read can only let an offer through to the check below
        if (d > worst_[static_cast<std::size_t>(i)].load(std::memory_order_relaxed)) return false;
        auto& lock = lock_[static_cast<std::size_t>(i)];
        while (lock.exchange(true, std::memory_order_acquire)) {
        }
        const bool added = insert_locked(i, j, d, round);
        lock.store(false, std::memory_order_release);
        return added;
    }

    std::int64_t cells() const { return n_; }
    std::int64_t k() const { return k_; }
    std::size_t slot(std::int64_t i, std::int64_t s) const { return static_cast<std::size_t>(i * k_ + s); }
    std::int32_t index(std::int64_t i, std::int64_t s) const { return index_[slot(i, s)]; }
    float distance(std::int64_t i, std::int64_t s) const { return dist_[slot(i, s)]; }
    bool fresh(std::int64_t i, std::int64_t s) const { return fresh_[slot(i, s)] != 0; }
    void set_old(std::int64_t i, std::int64_t s) { fresh_[slot(i, s)] = 0; }
    int round(std::int64_t i, std::int64_t s) const { return round_[slot(i, s)]; }

    std::vector<float> take_distances() { return std::move(dist_); }
    std::vector<std::int32_t> take_indices() { return std::move(index_); }

private:
    static bool before(float da, std::int32_t ia, float db, std::int32_t ib) { return da < db || (da == db && ia < ib); }

    bool insert_locked(std::int64_t i, std::int32_t j, float d, int round) {
        const std::size_t base = slot(i, 0);
        float* dist = dist_.data() + base;
        std::int32_t* index = index_.data() + base;
        if (!before(d, j, dist[k_ - 1], index[k_ - 1])) return false;
        std::int64_t pos = k_ - 1;
        while (pos > 0 && before(d, j, dist[pos - 1], index[pos - 1])) --pos;
        if (pos > 0 && dist[pos - 1] == d && index[pos - 1] == j) return false; // already listed
        for (std::int64_t s = k_ - 1; s > pos; --s) {
            dist[s] = dist[s - 1];
            index[s] = index[s - 1];
            round_[base + static_cast<std::size_t>(s)] = round_[base + static_cast<std::size_t>(s - 1)];
            fresh_[base + static_cast<std::size_t>(s)] = fresh_[base + static_cast<std::size_t>(s - 1)];
        }
        dist[pos] = d;
        index[pos] = j;
        round_[base + static_cast<std::size_t>(pos)] = round;
        fresh_[base + static_cast<std::size_t>(pos)] = 1;
        worst_[static_cast<std::size_t>(i)].store(dist[k_ - 1], std::memory_order_relaxed);
        return true;
    }

    std::int64_t n_, k_;
    std::vector<float> dist_;
    std::vector<std::int32_t> index_;
    std::vector<int> round_;            // round in which the entry went in (0: the forest)
    std::vector<std::uint8_t> fresh_;   // not yet joined
    std::unique_ptr<std::atomic<float>[]> worst_;
    std::unique_ptr<std::atomic<bool>[]> lock_;
};

struct Context {
    const RowMatrixF& x;
    std::int64_t dim;
    const float* row(std::int64_t i) const { return x.data() + i * dim; }
    float distance(std::int64_t a, std::int64_t b) const { return squared_distance(row(a), row(b), dim); }
};

/// One random-projection tree: cells are split by the hyperplane halfway between two random
/// cells of the node until at most leaf_size remain; every pair in a leaf is offered.
void project_tree(const Context& c, NeighborLists& lists, std::int64_t leaf_size, std::uint64_t seed, int tree) {
    const std::int64_t n = lists.cells();
    std::vector<std::int32_t> cells(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) cells[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(i);
    std::uint64_t state = hash4(seed, 0x7072, static_cast<std::uint64_t>(tree), 0);
    auto draw = [&state] { return mix(state++); };
    std::vector<float> normal(static_cast<std::size_t>(c.dim)), midpoint(static_cast<std::size_t>(c.dim));
    std::vector<std::pair<std::int64_t, std::int64_t>> stack{{0, n}};
    while (!stack.empty()) {
        const auto [begin, end] = stack.back();
        stack.pop_back();
        const std::int64_t size = end - begin;
        if (size <= leaf_size) {
            for (std::int64_t a = begin; a < end; ++a)
                for (std::int64_t b = a + 1; b < end; ++b) {
                    const auto ca = cells[static_cast<std::size_t>(a)], cb = cells[static_cast<std::size_t>(b)];
                    const float d = c.distance(ca, cb);
                    lists.insert(ca, cb, d, 0);
                    lists.insert(cb, ca, d, 0);
                }
            continue;
        }
        const auto pick_a = static_cast<std::int64_t>(draw() % static_cast<std::uint64_t>(size));
        auto pick_b = static_cast<std::int64_t>(draw() % static_cast<std::uint64_t>(size - 1));
        if (pick_b >= pick_a) ++pick_b;
        const float* pa = c.row(cells[static_cast<std::size_t>(begin + pick_a)]);
        const float* pb = c.row(cells[static_cast<std::size_t>(begin + pick_b)]);
        for (std::int64_t t = 0; t < c.dim; ++t) {
            normal[static_cast<std::size_t>(t)] = pa[t] - pb[t];
            midpoint[static_cast<std::size_t>(t)] = 0.5F * (pa[t] + pb[t]);
        }
        const float offset = dot(normal.data(), midpoint.data(), c.dim);
        auto right_side = [&](std::int32_t cell) {
            const float m = dot(normal.data(), c.row(cell), c.dim) - offset;
            if (m != 0.0F) return m > 0.0F;
            return (hash4(seed, static_cast<std::uint64_t>(tree), static_cast<std::uint64_t>(cell), 0x7469) & 1U) != 0;
        };
        const auto first = cells.begin() + begin, last = cells.begin() + end;
        auto mid = std::partition(first, last, right_side);
        if (mid == first || mid == last) mid = first + size / 2; // all on one side (duplicates): halve
        const std::int64_t cut = begin + (mid - first);
        stack.emplace_back(begin, cut);
        stack.emplace_back(cut, end);
    }
}

/// Candidate lists of one round: per cell, up to max_candidates new and old neighbours,
/// forward and reverse, those of smallest hashed priority.
struct Candidates {
    std::int64_t width;
    std::vector<std::int32_t> fresh, old; // cells x width, kNoCell where short
    std::vector<std::int32_t> fresh_count, old_count;
};

Candidates gather_candidates(NeighborLists& lists, std::int64_t max_candidates, std::uint64_t seed, int round,
                             int threads) {
    const std::int64_t n = lists.cells(), k = lists.k();
    auto priority = [&](std::int64_t from, std::int32_t to) {
        return hash4(seed, static_cast<std::uint64_t>(round), static_cast<std::uint64_t>(from), static_cast<std::uint64_t>(to));
    };
    // reverse edges (to <- from) as CSR, filled in cell order
    std::vector<std::int64_t> start(static_cast<std::size_t>(n + 1), 0);
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t s = 0; s < k; ++s)
            if (const auto j = lists.index(i, s); j != kNoCell) ++start[static_cast<std::size_t>(j) + 1];
    for (std::int64_t i = 0; i < n; ++i) start[static_cast<std::size_t>(i + 1)] += start[static_cast<std::size_t>(i)];
    std::vector<std::int32_t> reverse(static_cast<std::size_t>(start.back()));
    std::vector<std::uint8_t> reverse_fresh(reverse.size());
    {
        std::vector<std::int64_t> fill(start.begin(), start.end() - 1);
        for (std::int64_t i = 0; i < n; ++i)
            for (std::int64_t s = 0; s < k; ++s)
                if (const auto j = lists.index(i, s); j != kNoCell) {
                    const auto at = static_cast<std::size_t>(fill[static_cast<std::size_t>(j)]++);
                    reverse[at] = static_cast<std::int32_t>(i);
                    reverse_fresh[at] = lists.fresh(i, s) ? 1 : 0;
                }
    }
    Candidates c{max_candidates,
                 std::vector<std::int32_t>(static_cast<std::size_t>(n * max_candidates), kNoCell),
                 std::vector<std::int32_t>(static_cast<std::size_t>(n * max_candidates), kNoCell),
                 std::vector<std::int32_t>(static_cast<std::size_t>(n), 0), std::vector<std::int32_t>(static_cast<std::size_t>(n), 0)};
    parallel_for(n, kCellChunk, threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        std::vector<std::pair<std::uint64_t, std::int32_t>> fresh, old;
        auto keep = [&](std::vector<std::pair<std::uint64_t, std::int32_t>>& v, std::int32_t* out, std::int32_t& count) {
            // one entry per cell (its smallest priority), then the max_candidates smallest
            std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second < b.second || (a.second == b.second && a.first < b.first); });
            v.erase(std::unique(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second == b.second; }), v.end());
            const auto take = std::min<std::size_t>(v.size(), static_cast<std::size_t>(max_candidates));
            std::partial_sort(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(take), v.end());
            for (std::size_t t = 0; t < take; ++t) out[t] = v[t].second;
            count = static_cast<std::int32_t>(take);
        };
        for (std::int64_t i = begin; i < end; ++i) {
            fresh.clear();
            old.clear();
            for (std::int64_t s = 0; s < k; ++s) {
                const auto j = lists.index(i, s);
                if (j == kNoCell) continue;
                (lists.fresh(i, s) ? fresh : old).emplace_back(priority(i, j), j);
            }
            for (auto e = start[static_cast<std::size_t>(i)]; e < start[static_cast<std::size_t>(i + 1)]; ++e) {
                const auto from = reverse[static_cast<std::size_t>(e)];
                (reverse_fresh[static_cast<std::size_t>(e)] ? fresh : old).emplace_back(priority(from, static_cast<std::int32_t>(i)), from);
            }
            std::int32_t* fresh_out = c.fresh.data() + i * max_candidates;
            keep(fresh, fresh_out, c.fresh_count[static_cast<std::size_t>(i)]);
            keep(old, c.old.data() + i * max_candidates, c.old_count[static_cast<std::size_t>(i)]);
            // a new neighbour taken into this round's join is new no more
            const auto taken = fresh_out + c.fresh_count[static_cast<std::size_t>(i)];
            for (std::int64_t s = 0; s < k; ++s)
                if (lists.fresh(i, s) && std::find(fresh_out, taken, lists.index(i, s)) != taken) lists.set_old(i, s);
        }
    });
    return c;
}

/// The local join of one round: every pair of a cell's candidates, new x new and new x old,
/// is offered to both ends.
void local_join(const Context& ctx, NeighborLists& lists, const Candidates& c, int round, int threads) {
    const std::int64_t n = lists.cells(), w = c.width;
    parallel_for(n, kCellChunk, threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
            const std::int32_t* fresh = c.fresh.data() + i * w;
            const std::int32_t* old = c.old.data() + i * w;
            const std::int32_t nf = c.fresh_count[static_cast<std::size_t>(i)], no = c.old_count[static_cast<std::size_t>(i)];
            for (std::int32_t a = 0; a < nf; ++a) {
                const auto p = fresh[a];
                for (std::int32_t b = a + 1; b < nf; ++b) {
                    const auto q = fresh[b];
                    const float d = ctx.distance(p, q);
                    lists.insert(p, q, d, round);
                    lists.insert(q, p, d, round);
                }
                for (std::int32_t b = 0; b < no; ++b) {
                    const auto q = old[b];
                    if (q == p) continue;
                    const float d = ctx.distance(p, q);
                    lists.insert(p, q, d, round);
                    lists.insert(q, p, d, round);
                }
            }
        }
    });
}

/// Rows the forest left short get hashed random cells, so every list is full before the rounds.
void fill_short_lists(const Context& ctx, NeighborLists& lists, std::uint64_t seed, int threads) {
    const std::int64_t n = lists.cells(), k = lists.k();
    parallel_for(n, kCellChunk, threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i)
            for (std::uint64_t attempt = 0; lists.index(i, k - 1) == kNoCell; ++attempt) {
                const auto j = static_cast<std::int32_t>(hash4(seed, 0x66696c6c, static_cast<std::uint64_t>(i), attempt) %
                                                         static_cast<std::uint64_t>(n));
                if (j != i) lists.insert(i, j, ctx.distance(i, j), 0); // only row i changes: no other task touches it
            }
    });
}

} // namespace

NnDescentResult nn_descent(const RowMatrixF& x, const NnDescentOptions& options) {
    const std::int64_t n = x.rows(), k = options.n_neighbors;
    if (k < 1 || k >= n)
        throw Error(fmt::format("NN-descent: n_neighbors must be between 1 and cells - 1 ({}), got {}", n - 1, k));
    if (n > std::numeric_limits<std::int32_t>::max() - 1)
        throw Error(fmt::format("NN-descent: {} cells, at most {} supported", n, std::numeric_limits<std::int32_t>::max() - 1));
    if (!x.allFinite()) throw Error("NN-descent: the data hold NaN or infinite values");
    const int threads = options.threads > 0 ? options.threads : default_thread_count();
    const std::int64_t max_candidates = options.max_candidates > 0 ? options.max_candidates : k;
    const std::int64_t leaf_size = options.leaf_size > 0 ? options.leaf_size : std::max<std::int64_t>(k, 30);
    const int n_trees = options.n_trees > 0
                            ? options.n_trees
                            : std::min(32, 5 + static_cast<int>(std::lround(std::pow(static_cast<double>(n), 0.25))));
    const int max_rounds =
        options.max_rounds > 0 ? options.max_rounds
                               : std::max(5, static_cast<int>(std::lround(std::log2(static_cast<double>(n)))));

    const Context ctx{x, x.cols()};
    NeighborLists lists(n, k);
    parallel_for(n_trees, 1, threads, [&](std::int64_t tree, std::int64_t, std::int64_t) {
        project_tree(ctx, lists, leaf_size, options.seed, static_cast<int>(tree));
    });
    fill_short_lists(ctx, lists, options.seed, threads);

    NnDescentResult r;
    r.n_neighbors = k;
    const double stop_below = options.delta * static_cast<double>(n) * static_cast<double>(k);
    for (int round = 1; round <= max_rounds; ++round) {
        const Candidates c = gather_candidates(lists, max_candidates, options.seed, round, threads);
        local_join(ctx, lists, c, round, threads);
        // entries that went in this round and are still there: the same count whatever the order
        std::vector<std::int64_t> per_chunk(static_cast<std::size_t>(chunk_count(n, kCellChunk)), 0);
        parallel_for(n, kCellChunk, threads, [&](std::int64_t chunk, std::int64_t begin, std::int64_t end) {
            std::int64_t changed = 0;
            for (std::int64_t i = begin; i < end; ++i)
                for (std::int64_t s = 0; s < k; ++s) changed += lists.round(i, s) == round ? 1 : 0;
            per_chunk[static_cast<std::size_t>(chunk)] = changed;
        });
        std::int64_t changed = 0;
        for (const auto v : per_chunk) changed += v;
        r.changes.push_back(changed);
        r.rounds = round;
        if (static_cast<double>(changed) <= stop_below) break;
    }
    r.squared_distance = lists.take_distances();
    r.index = lists.take_indices();
    return r;
}

} // namespace scx
