#include "scextract/model/tokenizer.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <string>

namespace scx {

namespace {

constexpr std::int64_t kCellChunk = 64;

// One cell's expressed entries after validation: (panel column, value > 0).
struct Entry {
    std::int32_t column;
    float value;
};

std::vector<Entry> expressed_entries(std::span<const std::int32_t> columns, std::span<const float> values,
                                     std::span<const std::int64_t> vocab_ids, const char* who) {
    if (columns.size() != values.size())
        throw Error(std::string(who) + ": " + std::to_string(columns.size()) + " columns but " +
                    std::to_string(values.size()) + " values");
    std::vector<Entry> out;
    out.reserve(columns.size());
    for (std::size_t k = 0; k < columns.size(); ++k) {
        const std::int32_t c = columns[k];
        const float v = values[k];
        if (c < 0 || static_cast<std::size_t>(c) >= vocab_ids.size())
            throw Error(std::string(who) + ": column " + std::to_string(c) + " outside the panel of " +
                        std::to_string(vocab_ids.size()) + " genes");
        if (!std::isfinite(v) || v < 0.0f)
            throw Error(std::string(who) + ": column " + std::to_string(c) + " has value " + std::to_string(v) +
                        " (expected finite and >= 0)");
        if (vocab_ids[static_cast<std::size_t>(c)] < 0)
            throw Error(std::string(who) + ": panel column " + std::to_string(c) + " has no vocabulary id");
        if (v > 0.0f) out.push_back({c, v});
    }
    return out;
}

std::mt19937_64 cell_engine(std::uint64_t seed, std::uint64_t cell_index) {
    // seed_seq's mixing is fixed by the standard, so the stream is the same on every platform.
    std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                      static_cast<std::uint32_t>(cell_index), static_cast<std::uint32_t>(cell_index >> 32)};
    return std::mt19937_64(seq);
}

// Uniform in [0, 1) from the top 53 bits (std::generate_canonical is not portable bit for bit).
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Uniform integer in [0, bound) by rejection (std::uniform_int_distribution is not portable).
std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t bound) {
    const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % bound;
    std::uint64_t x = rng();
    while (x >= limit) x = rng();
    return x % bound;
}

void check_official(const OfficialTokenizerOptions& o) {
    if (o.n_bins < 2) throw Error("tokenize_official: n_bins is " + std::to_string(o.n_bins) + " (need >= 2)");
    if (o.max_seq_len < 1)
        throw Error("tokenize_official: max_seq_len is " + std::to_string(o.max_seq_len) + " (need >= 1)");
}

// numpy.quantile(x, numpy.linspace(0, 1, m)) with the default linear method, reproducing
// numpy 2's arithmetic: positions j * (1 / (m - 1)) in float64 (last exactly 1), the
// neighbour difference in the data's float32, the interpolation in float64 from whichever
// end is nearer.
std::vector<double> numpy_quantile_edges(std::vector<float> sorted, std::int64_t m) {
    std::sort(sorted.begin(), sorted.end());
    const auto n = static_cast<std::int64_t>(sorted.size());
    std::vector<double> edges(static_cast<std::size_t>(m));
    const double step = m > 1 ? 1.0 / static_cast<double>(m - 1) : 0.0;
    for (std::int64_t j = 0; j < m; ++j) {
        const double q = (m > 1 && j == m - 1) ? 1.0 : static_cast<double>(j) * step;
        const double virt = static_cast<double>(n - 1) * q;
        if (virt >= static_cast<double>(n - 1)) {
            edges[static_cast<std::size_t>(j)] = sorted.back();
            continue;
        }
        const double lo = std::floor(virt);
        const double gamma = virt - lo;
        const float a = sorted[static_cast<std::size_t>(lo)];
        const float b = sorted[static_cast<std::size_t>(lo) + 1];
        const float diff = b - a;
        edges[static_cast<std::size_t>(j)] = gamma >= 0.5 ? static_cast<double>(b) - static_cast<double>(diff) * (1.0 - gamma)
                                                          : static_cast<double>(a) + static_cast<double>(diff) * gamma;
    }
    return edges;
}

std::vector<std::int64_t> bins_with(std::span<const float> expressed, const OfficialTokenizerOptions& options,
                                    std::mt19937_64& rng) {
    std::vector<std::int64_t> bins(expressed.size(), 0);
    if (expressed.empty()) return bins;
    const std::vector<double> edges =
        numpy_quantile_edges(std::vector<float>(expressed.begin(), expressed.end()), options.n_bins - 1);
    for (std::size_t k = 0; k < expressed.size(); ++k) {
        const double x = expressed[k];
        // numpy.digitize on increasing edges: right=False counts edges <= x, right=True edges < x.
        const auto left = std::upper_bound(edges.begin(), edges.end(), x) - edges.begin();
        if (!options.spread_ties) {
            bins[k] = left;
            continue;
        }
        const auto right = std::lower_bound(edges.begin(), edges.end(), x) - edges.begin();
        // scGPT draws one uniform per value whether or not it is needed; so do we.
        const double r = uniform01(rng);
        bins[k] = static_cast<std::int64_t>(std::ceil(r * static_cast<double>(right - left) + static_cast<double>(left)));
    }
    return bins;
}

} // namespace

TokenizedCell tokenize_atlas(std::span<const std::int32_t> columns, std::span<const float> values,
                             std::span<const std::int64_t> vocab_ids, const AtlasTokenizerOptions& options) {
    if (options.max_tokens < 0)
        throw Error("tokenize_atlas: max_tokens is " + std::to_string(options.max_tokens) + " (need >= 0)");
    std::vector<Entry> e = expressed_entries(columns, values, vocab_ids, "tokenize_atlas");
    std::sort(e.begin(), e.end(), [](const Entry& x, const Entry& y) {
        return x.value != y.value ? x.value > y.value : x.column < y.column;
    });
    if (static_cast<std::int64_t>(e.size()) > options.max_tokens) e.resize(static_cast<std::size_t>(options.max_tokens));
    TokenizedCell cell;
    cell.gene_ids.reserve(e.size());
    cell.values.reserve(e.size());
    for (const Entry& x : e) {
        cell.gene_ids.push_back(vocab_ids[static_cast<std::size_t>(x.column)]);
        cell.values.push_back(x.value);
    }
    return cell;
}

std::vector<TokenizedCell> tokenize_atlas(const CsrMatrix& cells, std::span<const std::int64_t> vocab_ids,
                                          const AtlasTokenizerOptions& options) {
    std::vector<TokenizedCell> out(static_cast<std::size_t>(cells.n_rows));
    parallel_for(cells.n_rows, kCellChunk, options.threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r)
            out[static_cast<std::size_t>(r)] =
                tokenize_atlas(cells.row_indices(r), cells.row_values(r), vocab_ids, options);
    });
    return out;
}

std::vector<std::int64_t> quantile_bins(std::span<const float> expressed, const OfficialTokenizerOptions& options,
                                        std::uint64_t cell_index) {
    check_official(options);
    for (float v : expressed)
        if (!(v > 0.0f) || !std::isfinite(v))
            throw Error("quantile_bins: value " + std::to_string(v) + " is not a finite positive number");
    std::mt19937_64 rng = cell_engine(options.seed, cell_index);
    return bins_with(expressed, options, rng);
}

TokenizedCell tokenize_official(std::span<const std::int32_t> columns, std::span<const float> values,
                                std::span<const std::int64_t> vocab_ids, const OfficialTokenizerOptions& options,
                                std::uint64_t cell_index) {
    check_official(options);
    std::vector<Entry> e = expressed_entries(columns, values, vocab_ids, "tokenize_official");
    // Panel order, as numpy.nonzero walks a dense row.
    std::sort(e.begin(), e.end(), [](const Entry& x, const Entry& y) { return x.column < y.column; });

    std::mt19937_64 rng = cell_engine(options.seed, cell_index);
    std::vector<float> expressed(e.size());
    for (std::size_t k = 0; k < e.size(); ++k) expressed[k] = e[k].value;
    const std::vector<std::int64_t> bins = bins_with(expressed, options, rng);

    // Positions kept: all, or a uniform draw of max_seq_len - 1 (partial Fisher-Yates), re-sorted.
    std::vector<std::size_t> keep(e.size());
    std::iota(keep.begin(), keep.end(), std::size_t{0});
    const auto budget = static_cast<std::size_t>(options.max_seq_len - 1);
    if (keep.size() > budget) {
        for (std::size_t i = 0; i < budget; ++i) {
            const std::size_t j = i + static_cast<std::size_t>(uniform_below(rng, keep.size() - i));
            std::swap(keep[i], keep[j]);
        }
        keep.resize(budget);
        std::sort(keep.begin(), keep.end());
    }

    TokenizedCell cell;
    cell.gene_ids.reserve(keep.size() + 1);
    cell.values.reserve(keep.size() + 1);
    cell.gene_ids.push_back(options.cls_id);
    cell.values.push_back(options.pad_value);
    for (std::size_t k : keep) {
        cell.gene_ids.push_back(vocab_ids[static_cast<std::size_t>(e[k].column)]);
        cell.values.push_back(static_cast<float>(bins[k]));
    }
    return cell;
}

std::vector<TokenizedCell> tokenize_official(const CsrMatrix& cells, std::span<const std::int64_t> vocab_ids,
                                             const OfficialTokenizerOptions& options) {
    check_official(options);
    std::vector<TokenizedCell> out(static_cast<std::size_t>(cells.n_rows));
    parallel_for(cells.n_rows, kCellChunk, options.threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r)
            out[static_cast<std::size_t>(r)] = tokenize_official(cells.row_indices(r), cells.row_values(r), vocab_ids,
                                                                 options, static_cast<std::uint64_t>(r));
    });
    return out;
}

} // namespace scx
