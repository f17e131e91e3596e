#include "scextract/extract/atlas.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"
#include "scextract/core/random.hpp"
#include "scextract/model/scgpt_forward.hpp"
#include "scextract/model/tokenizer.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <limits>
#include <mutex>
#include <numeric>
#include <utility>

#include <fmt/format.h>

namespace scx {

namespace {

constexpr std::int64_t kCellChunk = 16;

/// round(p * 2^32): probabilities as fixed-point integers, so that sums do not depend on
/// the order of addition. p * 2^32 and + 0.5 are exact in double for p in [0, 2]; the
/// conversion goes through int64 (one instruction, unlike uint64).
inline std::uint64_t to_fixed(float p) {
    const double x = p > 0.0F ? static_cast<double>(std::min(p, 2.0F)) : 0.0; // NaN and negatives -> 0
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(x * 0x1p32 + 0.5));
}

/// A zero-filled array of @p n counters. calloc hands large blocks out as fresh zero pages,
/// so untouched parts cost nothing (std::vector would write every byte first).
struct ZeroedCounters {
    explicit ZeroedCounters(std::size_t n) : data(static_cast<std::uint64_t*>(std::calloc(n, sizeof(std::uint64_t)))) {
        if (data == nullptr && n > 0) throw std::bad_alloc();
    }
    ~ZeroedCounters() { std::free(data); }
    ZeroedCounters(ZeroedCounters&& o) noexcept : data(std::exchange(o.data, nullptr)) {}
    ZeroedCounters& operator=(ZeroedCounters&&) = delete;
    ZeroedCounters(const ZeroedCounters&) = delete;
    ZeroedCounters& operator=(const ZeroedCounters&) = delete;
    void release() {
        std::free(data);
        data = nullptr;
    }
    std::uint64_t* data;
};

/// Adds every attention map into per-head fixed-point sums S(l, h)[i, j], i and j panel
/// positions of the query and key tokens. Tokens are visited in panel order (@p orders),
/// so each map is added row by row at increasing addresses: the memory traffic into the
/// G x G sums, which dominates, streams instead of jumping.
class AtlasAccumulator final : public AttentionVisitor {
public:
    AtlasAccumulator(std::int64_t g, std::int64_t n_layers, std::int64_t n_heads,
                     const std::vector<std::vector<std::int32_t>>& positions,
                     const std::vector<std::vector<std::int32_t>>& orders, bool atomic, const ProgressCallback& progress)
        : g_(g), n_layers_(n_layers), n_heads_(n_heads), positions_(positions), orders_(orders), atomic_(atomic),
          progress_(progress) {
        sums_.reserve(static_cast<std::size_t>(n_layers * n_heads));
        for (std::int64_t k = 0; k < n_layers * n_heads; ++k) sums_.emplace_back(static_cast<std::size_t>(g * g));
    }

    void visit(const AttentionSlice& s) override {
        const auto& pos = positions_[static_cast<std::size_t>(s.cell)];
        const auto& order = orders_[static_cast<std::size_t>(s.cell)];
        std::uint64_t* acc = sums_[static_cast<std::size_t>(s.layer * n_heads_ + s.head)].data;
        if (atomic_)
            scatter<true>(acc, pos, order, s.probs, s.length);
        else
            scatter<false>(acc, pos, order, s.probs, s.length);
        if (s.layer == n_layers_ - 1 && s.head == n_heads_ - 1 && progress_) {
            const std::int64_t done = done_.fetch_add(1, std::memory_order_relaxed) + 1;
            const std::lock_guard lock(progress_mutex_);
            progress_(done, static_cast<std::int64_t>(positions_.size()));
        }
    }

    std::vector<ZeroedCounters>& sums() { return sums_; }

private:
    template <bool Atomic>
    void scatter(std::uint64_t* acc, const std::vector<std::int32_t>& pos, const std::vector<std::int32_t>& order,
                 const float* probs, std::int64_t len) const {
        for (const std::int32_t a : order) {
            std::uint64_t* row = acc + static_cast<std::int64_t>(pos[static_cast<std::size_t>(a)]) * g_;
            const float* p = probs + static_cast<std::int64_t>(a) * len;
            for (const std::int32_t b : order) {
                std::uint64_t& cell = row[pos[static_cast<std::size_t>(b)]];
                if constexpr (Atomic)
                    std::atomic_ref<std::uint64_t>(cell).fetch_add(to_fixed(p[b]), std::memory_order_relaxed);
                else
                    cell += to_fixed(p[b]);
            }
        }
    }

    std::int64_t g_, n_layers_, n_heads_;
    const std::vector<std::vector<std::int32_t>>& positions_;
    const std::vector<std::vector<std::int32_t>>& orders_;
    bool atomic_;
    const ProgressCallback& progress_;
    std::vector<ZeroedCounters> sums_;
    std::atomic<std::int64_t> done_{0};
    std::mutex progress_mutex_;
};

} // namespace

AtlasResult run_attention_atlas(const ScGptWeights& weights, const CsrMatrix& panel_values,
                                std::span<const std::int64_t> panel_vocab_ids, const AtlasOptions& options) {
    const auto g = static_cast<std::int64_t>(panel_vocab_ids.size());
    if (panel_values.n_cols != g)
        throw Error(fmt::format("attention atlas: the panel matrix has {} columns but {} vocabulary ids were given",
                                panel_values.n_cols, g));
    if (g == 0) throw Error("attention atlas: the gene panel is empty");
    if (g > std::numeric_limits<std::int32_t>::max() / 2)
        throw Error(fmt::format("attention atlas: a panel of {} genes is too large", g));
    if (options.n_cells < 1) throw Error(fmt::format("attention atlas: n_cells is {}, must be >= 1", options.n_cells));
    if (options.max_tokens < 1)
        throw Error(fmt::format("attention atlas: max_tokens is {}, must be >= 1", options.max_tokens));
    if (options.batch_size < 1)
        throw Error(fmt::format("attention atlas: batch_size is {}, must be >= 1", options.batch_size));
    panel_values.validate("attention atlas: panel matrix");
    const std::int64_t vocab = weights.gene_embedding.rows();
    for (std::int64_t k = 0; k < g; ++k)
        if (panel_vocab_ids[k] < 0 || panel_vocab_ids[k] >= vocab)
            throw Error(fmt::format("attention atlas: panel gene {} has vocabulary id {}, outside the model's [0, {})", k,
                                    panel_vocab_ids[k], vocab));

    AtlasResult result;
    // The sampling frame: cells the model can run on (at least one expressed panel gene).
    std::vector<std::int64_t> frame;
    for (std::int64_t r = 0; r < panel_values.n_rows; ++r) {
        const auto v = panel_values.row_values(r);
        if (std::any_of(v.begin(), v.end(), [](float x) { return x > 0.0F; })) frame.push_back(r);
    }
    result.cells_available = static_cast<std::int64_t>(frame.size());
    if (frame.empty())
        throw Error(fmt::format("attention atlas: none of the {} cells expresses a panel gene", panel_values.n_rows));
    const std::int64_t n = std::min<std::int64_t>(options.n_cells, result.cells_available);
    if (n > std::numeric_limits<std::int32_t>::max())
        throw Error(fmt::format("attention atlas: {} cells overflow the co-occurrence counts", n));
    {
        Rng rng(options.seed);
        for (std::int64_t i = 0; i < n; ++i) {
            const auto j = i + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(result.cells_available - i)));
            std::swap(frame[static_cast<std::size_t>(i)], frame[static_cast<std::size_t>(j)]);
        }
        frame.resize(static_cast<std::size_t>(n));
        std::sort(frame.begin(), frame.end());
    }
    result.cells = frame;

    // Tokenise with panel positions as ids (so each token knows its panel gene even if two
    // panel genes shared a vocabulary id), then swap in the vocabulary ids for the model.
    std::vector<std::int64_t> identity(static_cast<std::size_t>(g));
    std::iota(identity.begin(), identity.end(), std::int64_t{0});
    std::vector<TokenizedCell> cells(static_cast<std::size_t>(n));
    std::vector<std::vector<std::int32_t>> positions(static_cast<std::size_t>(n)), orders(static_cast<std::size_t>(n));
    AtlasTokenizerOptions tok;
    tok.max_tokens = options.max_tokens;
    parallel_for(n, kCellChunk, options.threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
            const std::int64_t r = frame[static_cast<std::size_t>(i)];
            auto& cell = cells[static_cast<std::size_t>(i)];
            cell = tokenize_atlas(panel_values.row_indices(r), panel_values.row_values(r), identity, tok);
            auto& pos = positions[static_cast<std::size_t>(i)];
            pos.reserve(cell.gene_ids.size());
            for (auto& id : cell.gene_ids) {
                pos.push_back(static_cast<std::int32_t>(id));
                id = panel_vocab_ids[static_cast<std::size_t>(id)];
            }
            auto& order = orders[static_cast<std::size_t>(i)];
            order.resize(pos.size());
            std::iota(order.begin(), order.end(), 0);
            std::sort(order.begin(), order.end(), [&](std::int32_t x, std::int32_t y) {
                return pos[static_cast<std::size_t>(x)] < pos[static_cast<std::size_t>(y)];
            });
        }
    });
    for (const auto& c : cells) {
        result.total_tokens += static_cast<std::int64_t>(c.gene_ids.size());
        result.max_cell_tokens = std::max<std::int64_t>(result.max_cell_tokens, static_cast<std::int64_t>(c.gene_ids.size()));
    }

    const int threads = options.threads > 0 ? options.threads : default_thread_count();
    // Co-occurrence counts: integers, so concurrent increments give the same result in any order.
    std::vector<std::int32_t> counts(static_cast<std::size_t>(g * g), 0);
    parallel_for(n, kCellChunk, threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
            const auto& pos = positions[static_cast<std::size_t>(i)];
            for (const std::int32_t a : pos) {
                std::int32_t* row = counts.data() + static_cast<std::int64_t>(a) * g;
                for (const std::int32_t b : pos) {
                    if (threads > 1)
                        std::atomic_ref<std::int32_t>(row[b]).fetch_add(1, std::memory_order_relaxed);
                    else
                        ++row[b];
                }
            }
        }
    });

    const std::int64_t n_layers = weights.config.n_layers, n_heads = weights.config.n_heads;
    AtlasAccumulator acc(g, n_layers, n_heads, positions, orders, threads > 1, options.progress);
    ScGptForwardOptions f;
    f.threads = threads;
    f.batch_size = options.batch_size;
    f.want_mean = false;
    f.visitor = &acc;
    f.value_max = options.value_max;
    f.layer_norm_eps = options.layer_norm_eps;
    (void)run_scgpt_forward(weights, cells, f);

    OperatorSet& set = result.operators;
    set.vocab_ids.assign(panel_vocab_ids.begin(), panel_vocab_ids.end());
    set.n_layers = n_layers;
    set.n_heads = n_heads;
    set.ops.resize(static_cast<std::size_t>(n_layers * n_heads));
    auto& sums = acc.sums();
    // A = S 2^-32 / max(C, 1), as S times one precomputed factor per gene pair
    std::vector<double> scale(static_cast<std::size_t>(g * g));
    for (std::int64_t e = 0; e < g * g; ++e)
        scale[static_cast<std::size_t>(e)] = 0x1p-32 / static_cast<double>(std::max<std::int32_t>(counts[static_cast<std::size_t>(e)], 1));
    parallel_for(n_layers * n_heads, 1, threads, [&](std::int64_t k, std::int64_t, std::int64_t) {
        auto& s = sums[static_cast<std::size_t>(k)];
        RowMatrixF a(g, g);
        float* out = a.data();
        for (std::int64_t e = 0; e < g * g; ++e)
            out[e] = static_cast<float>(static_cast<double>(s.data[e]) * scale[static_cast<std::size_t>(e)]);
        set.ops[static_cast<std::size_t>(k)] = std::move(a);
        s.release(); // free this head's accumulator now
    });
    set.cooccurrence = std::move(counts);

    auto& p = set.provenance;
    p.mode = "atlas";
    p.cells_used = n;
    p.cells_available = result.cells_available;
    p.cells_total = panel_values.n_rows;
    p.seed = options.seed;
    p.cell_indices = result.cells;
    p.tokenizer = "atlas: panel genes with value > 0, sorted by value descending (ties by panel position), no <cls>, "
                  "continuous log1p(normalize_total) values, at most max_tokens";
    p.max_tokens = options.max_tokens;
    p.bias_handling = "the model's own attention: every bias, the value encoder and the residual stream take part";
    p.exactness = "mean attention probability over the sampled cells, A = sum / max(co-occurrence, 1); gene pairs "
                  "never expressed together in a sampled cell are 0";
    return result;
}

} // namespace scx
