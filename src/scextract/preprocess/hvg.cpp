#include "scextract/preprocess/hvg.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"
#include "scextract/preprocess/loess.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

namespace scx {

namespace {

constexpr std::int64_t kGeneChunk = 256;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Calls fn(row, gene, value) for every stored value, each gene's values in row
// order and genes split over threads, so per-gene sums do not depend on the
// block size or the thread count. fn may only touch per-gene state.
template <class Fn>
void for_each_value_by_gene(RowBlockReader& reader, const HvgOptions& opt, Fn&& fn) {
    const std::int64_t n_rows = reader.n_rows(), n_cols = reader.n_cols();
    for (std::int64_t begin = 0; begin < n_rows; begin += opt.block_rows) {
        const std::int64_t end = std::min(n_rows, begin + opt.block_rows);
        const CsrMatrix block = reader.read_rows(begin, end);
        if (block.n_rows != end - begin || block.n_cols != n_cols)
            throw Error(
                fmt::format("highly_variable_genes: rows [{}, {}) came back as a {} x {} block, expected {} x {}",
                            begin, end, block.n_rows, block.n_cols, end - begin, n_cols));
        const CsrMatrix by_gene = transpose(block);
        parallel_for(n_cols, kGeneChunk, opt.threads, [&](std::int64_t, std::int64_t g0, std::int64_t g1) {
            for (std::int64_t g = g0; g < g1; ++g)
                for (auto k = by_gene.indptr[g]; k < by_gene.indptr[g + 1]; ++k)
                    fn(begin + by_gene.indices[k], static_cast<std::int32_t>(g), by_gene.values[k]);
        });
    }
}

// Sums of x and of float32 x*x per (group, gene): scanpy's sparse mean/variance
// kernel squares in the input precision and accumulates in float64.
struct GeneSums {
    std::int64_t n_genes = 0;
    std::vector<double> sum, sumsq; // group-major: [group * n_genes + gene]

    GeneSums(std::int64_t groups, std::int64_t genes)
        : n_genes(genes), sum(static_cast<std::size_t>(groups * genes), 0.0), sumsq(sum.size(), 0.0) {}
    void add(std::int64_t group, std::int64_t gene, float v) {
        const auto i = static_cast<std::size_t>(group * n_genes + gene);
        sum[i] += static_cast<double>(v);
        sumsq[i] += static_cast<double>(v * v);
    }
};

// scanpy's _get_mean_var: E[x], E[x^2] - E[x]^2, times n / (n - 1) unless n == 1.
void mean_var(const GeneSums& s, std::int64_t group, std::int64_t n, std::vector<double>& mean,
              std::vector<double>& var) {
    mean.resize(static_cast<std::size_t>(s.n_genes));
    var.resize(mean.size());
    const auto nd = static_cast<double>(n);
    const double ddof_factor = nd / static_cast<double>(n - 1);
    for (std::int64_t g = 0; g < s.n_genes; ++g) {
        const auto i = static_cast<std::size_t>(group * s.n_genes + g);
        mean[g] = s.sum[i] / nd;
        var[g] = s.sumsq[i] / nd - (s.sum[i] / nd) * (s.sum[i] / nd);
        if (n != 1) var[g] *= ddof_factor;
    }
}

// Genes ordered best first by score (NaN last), ties by gene index.
std::vector<std::int64_t> order_descending(const std::vector<double>& score) {
    std::vector<std::int64_t> order(score.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
        const bool na = std::isnan(score[a]), nb = std::isnan(score[b]);
        if (na || nb) return !na && nb;
        return score[a] > score[b];
    });
    return order;
}

void check_options(const HvgOptions& opt, std::int64_t n_rows, std::int64_t n_cols) {
    if (opt.n_top_genes && *opt.n_top_genes <= 0)
        throw Error(fmt::format("highly_variable_genes: n_top_genes must be positive, got {}", *opt.n_top_genes));
    if (opt.block_rows <= 0)
        throw Error(fmt::format("highly_variable_genes: block_rows must be positive, got {}", opt.block_rows));
    if (n_rows < 2) throw Error(fmt::format("highly_variable_genes: need at least 2 cells, got {}", n_rows));
    if (n_cols < 1) throw Error("highly_variable_genes: the matrix has no genes");
    if (opt.flavor == HvgFlavor::seurat) {
        if (opt.n_bins < 1) throw Error(fmt::format("highly_variable_genes: n_bins must be >= 1, got {}", opt.n_bins));
        if (!opt.batches.empty())
            throw Error("highly_variable_genes: batches are implemented for flavor seurat_v3 only, not seurat");
        if (opt.log1p_base && !(*opt.log1p_base > 0.0 && *opt.log1p_base != 1.0))
            throw Error(
                fmt::format("highly_variable_genes: log1p_base must be positive and not 1, got {}", *opt.log1p_base));
    } else {
        if (!(opt.span > 0.0))
            throw Error(fmt::format("highly_variable_genes: span must be positive, got {}", opt.span));
        if (!opt.batches.empty() && static_cast<std::int64_t>(opt.batches.size()) != n_rows)
            throw Error(fmt::format("highly_variable_genes: {} batch codes for {} cells", opt.batches.size(), n_rows));
    }
}

// ---------------------------------------------------------------- seurat_v3

HvgResult seurat_v3(RowBlockReader& reader, const HvgOptions& opt) {
    const std::int64_t n_rows = reader.n_rows(), n_genes = reader.n_cols();
    const std::int64_t n_top = opt.n_top_genes.value_or(2000);

    // Batch codes; one extra group holds the whole matrix.
    std::int32_t n_batches = 1;
    for (auto b : opt.batches) {
        if (b < 0 || b >= n_rows)
            throw Error(fmt::format("highly_variable_genes: batch code {} is outside [0, {})", b, n_rows));
        n_batches = std::max(n_batches, b + 1);
    }
    std::vector<std::int64_t> batch_size(static_cast<std::size_t>(n_batches), 0);
    if (opt.batches.empty())
        batch_size[0] = n_rows;
    else
        for (auto b : opt.batches) ++batch_size[b];
    // Like numpy.unique over the batch column, only codes that occur are batches.
    std::vector<std::int32_t> present;
    for (std::int32_t b = 0; b < n_batches; ++b) {
        if (batch_size[b] == 0) continue;
        if (batch_size[b] < 2)
            throw Error(fmt::format("highly_variable_genes: batch {} has {} cell; seurat_v3 needs at least 2 per batch",
                                    b, batch_size[b]));
        present.push_back(b);
    }
    const auto batch_of = [&](std::int64_t row) -> std::int32_t { return opt.batches.empty() ? 0 : opt.batches[row]; };
    const std::int32_t all = n_batches;

    GeneSums sums(n_batches + 1, n_genes);
    for_each_value_by_gene(reader, opt, [&](std::int64_t row, std::int32_t g, float v) {
        if (!opt.batches.empty()) sums.add(all, g, v);
        sums.add(batch_of(row), g, v);
    });

    HvgResult res;
    res.flavor = HvgFlavor::seurat_v3;
    mean_var(sums, opt.batches.empty() ? 0 : all, n_rows, res.means, res.variances);

    // Per batch: loess fit of log10 variance on log10 mean, then clip values at
    // mean + sqrt(n) * regularised sd.
    std::vector<std::vector<double>> mean(n_batches), reg_std(n_batches), clip(n_batches);
    for (std::int32_t b : present) {
        std::vector<double> var;
        mean_var(sums, b, batch_size[b], mean[b], var);
        std::vector<double> lx, ly;
        std::vector<std::int64_t> fitted_genes;
        for (std::int64_t g = 0; g < n_genes; ++g)
            if (var[g] > 0.0) {
                fitted_genes.push_back(g);
                lx.push_back(std::log10(mean[b][g]));
                ly.push_back(std::log10(var[g]));
            }
        if (fitted_genes.empty())
            throw Error(fmt::format("highly_variable_genes: no gene varies in batch {}; seurat_v3 cannot fit", b));
        LoessOptions lo;
        lo.span = opt.span;
        lo.degree = 2;
        lo.threads = opt.threads;
        const LoessResult fit = run_loess(lx, ly, lo);
        std::vector<double> estimate(static_cast<std::size_t>(n_genes), 0.0);
        for (std::size_t i = 0; i < fitted_genes.size(); ++i) estimate[fitted_genes[i]] = fit.fitted[i];
        reg_std[b].resize(static_cast<std::size_t>(n_genes));
        clip[b].resize(static_cast<std::size_t>(n_genes));
        const double vmax = std::sqrt(static_cast<double>(batch_size[b]));
        for (std::int64_t g = 0; g < n_genes; ++g) {
            reg_std[b][g] = std::sqrt(std::pow(10.0, estimate[g]));
            clip[b][g] = reg_std[b][g] * vmax + mean[b][g];
        }
    }

    // Second pass: sums of the clipped values (float64, as scanpy's numba kernel).
    std::vector<double> csum(static_cast<std::size_t>(n_batches * n_genes), 0.0), csq(csum.size(), 0.0);
    for_each_value_by_gene(reader, opt, [&](std::int64_t row, std::int32_t g, float v) {
        const std::int32_t b = batch_of(row);
        const double e = std::min(static_cast<double>(v), clip[b][g]);
        const auto i = static_cast<std::size_t>(b * n_genes + g);
        csum[i] += e;
        csq[i] += e * e;
    });

    std::vector<std::vector<double>> norm_var(n_batches, std::vector<double>(static_cast<std::size_t>(n_genes)));
    std::vector<std::vector<std::int64_t>> rank(n_batches,
                                                std::vector<std::int64_t>(static_cast<std::size_t>(n_genes)));
    for (std::int32_t b : present) {
        const auto n = static_cast<double>(batch_size[b]);
        for (std::int64_t g = 0; g < n_genes; ++g) {
            const auto i = static_cast<std::size_t>(b * n_genes + g);
            const double m = mean[b][g], s = reg_std[b][g];
            norm_var[b][g] = (1.0 / ((n - 1.0) * (s * s))) * ((n * (m * m)) + csq[i] - 2.0 * csum[i] * m);
        }
        const auto order = order_descending(norm_var[b]);
        for (std::int64_t r = 0; r < n_genes; ++r) rank[b][order[r]] = r;
    }

    // Merge batches as scanpy: median of the ranks below n_top, count of batches.
    res.variances_norm.assign(static_cast<std::size_t>(n_genes), 0.0);
    res.highly_variable_rank.assign(static_cast<std::size_t>(n_genes), kNaN);
    res.highly_variable_nbatches.assign(static_cast<std::size_t>(n_genes), 0);
    std::vector<double> ranks;
    for (std::int64_t g = 0; g < n_genes; ++g) {
        double total = 0.0;
        ranks.clear();
        for (std::int32_t b : present) {
            total += norm_var[b][g];
            if (rank[b][g] < n_top) ranks.push_back(static_cast<double>(rank[b][g]));
        }
        res.variances_norm[g] = total / static_cast<double>(present.size());
        res.highly_variable_nbatches[g] = static_cast<std::int32_t>(ranks.size());
        if (!ranks.empty()) {
            std::sort(ranks.begin(), ranks.end());
            const std::size_t h = ranks.size() / 2;
            res.highly_variable_rank[g] = ranks.size() % 2 == 1 ? ranks[h] : (ranks[h - 1] + ranks[h]) / 2.0;
        }
    }
    // Order: median rank ascending (NaN last), then more batches first, then gene index.
    std::vector<std::int64_t> order(static_cast<std::size_t>(n_genes));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
        const double ra = res.highly_variable_rank[a], rb = res.highly_variable_rank[b];
        const bool na = std::isnan(ra), nb = std::isnan(rb);
        if (na != nb) return nb;
        if (!na && ra != rb) return ra < rb;
        return res.highly_variable_nbatches[a] > res.highly_variable_nbatches[b];
    });
    res.highly_variable.assign(static_cast<std::size_t>(n_genes), 0);
    const std::int64_t n_selected = std::min(n_top, n_genes);
    res.selected.assign(order.begin(), order.begin() + n_selected);
    for (auto g : res.selected) res.highly_variable[g] = 1;
    return res;
}

// ---------------------------------------------------------------- seurat

// pandas.cut(x, n_bins) edges: equal-width over [min, max], the first edge moved
// down by 0.1% of the range (or +-0.1% around a constant value).
std::vector<double> cut_edges(const std::vector<double>& x, int n_bins) {
    double mn = std::numeric_limits<double>::infinity(), mx = -mn;
    for (double v : x)
        if (!std::isnan(v)) {
            mn = std::min(mn, v);
            mx = std::max(mx, v);
        }
    if (!std::isfinite(mn) || !std::isfinite(mx))
        throw Error("highly_variable_genes: gene means are not finite; cannot bin them");
    const bool constant = mn == mx;
    if (constant) {
        mn -= mn != 0.0 ? 0.001 * std::fabs(mn) : 0.001;
        mx += mx != 0.0 ? 0.001 * std::fabs(mx) : 0.001;
    }
    std::vector<double> edges(static_cast<std::size_t>(n_bins) + 1);
    const double step = (mx - mn) / n_bins; // numpy.linspace: i * step + start, last edge = stop
    for (int i = 0; i <= n_bins; ++i) edges[i] = static_cast<double>(i) * step + mn;
    edges[n_bins] = mx;
    if (!constant) edges[0] -= (mx - mn) * 0.001;
    for (int i = 0; i < n_bins; ++i)
        if (!(edges[i] < edges[i + 1]))
            throw Error(fmt::format("highly_variable_genes: {} mean bins over [{}, {}] are too narrow to be distinct",
                                    n_bins, mn, mx));
    return edges;
}

HvgResult seurat(RowBlockReader& reader, const HvgOptions& opt) {
    const std::int64_t n_rows = reader.n_rows(), n_genes = reader.n_cols();
    // scanpy multiplies float32 data by log(base) (computed in float64) before expm1.
    const double log_base = opt.log1p_base ? std::log(*opt.log1p_base) : 1.0;
    const bool rescale = opt.log1p_base.has_value();

    GeneSums sums(1, n_genes);
    for_each_value_by_gene(reader, opt, [&](std::int64_t, std::int32_t g, float v) {
        if (rescale) v = static_cast<float>(static_cast<double>(v) * log_base);
        sums.add(0, g, std::expm1(v));
    });

    HvgResult res;
    res.flavor = HvgFlavor::seurat;
    std::vector<double> mean, var;
    mean_var(sums, 0, n_rows, mean, var);
    res.means.resize(static_cast<std::size_t>(n_genes));
    res.dispersions.resize(static_cast<std::size_t>(n_genes));
    for (std::int64_t g = 0; g < n_genes; ++g) {
        const double m = mean[g] == 0.0 ? 1e-12 : mean[g];
        const double d = var[g] / m;
        res.dispersions[g] = d == 0.0 ? kNaN : std::log(d);
        res.means[g] = std::log1p(m);
    }

    // Bin by mean; pandas.cut's intervals are (a, b], found by a left binary search.
    const auto edges = cut_edges(res.means, opt.n_bins);
    res.mean_bin.resize(static_cast<std::size_t>(n_genes));
    for (std::int64_t g = 0; g < n_genes; ++g) {
        const auto id = std::lower_bound(edges.begin(), edges.end(), res.means[g]) - edges.begin();
        res.mean_bin[g] =
            (id == 0 || id == static_cast<std::ptrdiff_t>(edges.size())) ? -1 : static_cast<std::int32_t>(id - 1);
    }

    // Per-bin mean (Kahan-compensated) and standard deviation (Welford, ddof 1) of
    // the non-NaN dispersions, the way pandas' groupby kernels compute them.
    const auto nb = static_cast<std::size_t>(opt.n_bins);
    std::vector<double> sumx(nb, 0.0), comp(nb, 0.0), wmean(nb, 0.0), m2(nb, 0.0);
    std::vector<std::int64_t> count(nb, 0);
    for (std::int64_t g = 0; g < n_genes; ++g) {
        const auto b = res.mean_bin[g];
        const double v = res.dispersions[g];
        if (b < 0 || std::isnan(v)) continue;
        ++count[b];
        const double y = v - comp[b];
        const double t = sumx[b] + y;
        comp[b] = t - sumx[b] - y;
        if (std::isnan(comp[b])) comp[b] = 0.0;
        sumx[b] = t;
        const double old = wmean[b];
        wmean[b] += (v - old) / static_cast<double>(count[b]);
        m2[b] += (v - wmean[b]) * (v - old);
    }
    std::vector<double> avg(nb), dev(nb);
    for (std::size_t b = 0; b < nb; ++b) {
        avg[b] = count[b] == 0 ? kNaN : sumx[b] / static_cast<double>(count[b]);
        dev[b] = count[b] <= 1 ? kNaN : std::sqrt(m2[b] / static_cast<double>(count[b] - 1));
        if (std::isnan(dev[b])) { // a lone gene: normalised dispersion = its dispersion / itself
            dev[b] = avg[b];
            avg[b] = 0.0;
        }
    }
    res.dispersions_norm.resize(static_cast<std::size_t>(n_genes));
    for (std::int64_t g = 0; g < n_genes; ++g) {
        const auto b = res.mean_bin[g];
        res.dispersions_norm[g] = b < 0 ? kNaN : (res.dispersions[g] - avg[b]) / dev[b];
    }

    res.highly_variable.assign(static_cast<std::size_t>(n_genes), 0);
    if (opt.n_top_genes) {
        // scanpy: threshold at the n-th highest non-NaN value; ties at it are all kept.
        std::vector<double> valid;
        for (double v : res.dispersions_norm)
            if (!std::isnan(v)) valid.push_back(v);
        const auto n = static_cast<std::size_t>(std::min<std::int64_t>(*opt.n_top_genes, n_genes));
        const std::size_t n_take = std::min(n, valid.size());
        if (n_take > 0) {
            std::nth_element(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(n_take - 1), valid.end(),
                             std::greater<>());
            const double cutoff = valid[n_take - 1];
            for (std::int64_t g = 0; g < n_genes; ++g)
                res.highly_variable[g] = !std::isnan(res.dispersions_norm[g]) && res.dispersions_norm[g] >= cutoff;
        }
    } else {
        const auto& c = opt.cutoffs;
        for (std::int64_t g = 0; g < n_genes; ++g) {
            double d = res.dispersions_norm[g]; // numpy.nan_to_num
            if (std::isnan(d)) d = 0.0;
            if (std::isinf(d)) d = d > 0 ? std::numeric_limits<double>::max() : -std::numeric_limits<double>::max();
            const double m = res.means[g];
            res.highly_variable[g] = m > c.min_mean && m < c.max_mean && d > c.min_disp && d < c.max_disp;
        }
    }
    for (auto g : order_descending(res.dispersions_norm))
        if (res.highly_variable[g]) res.selected.push_back(g);
    return res;
}

} // namespace

const char* hvg_flavor_name(HvgFlavor flavor) {
    return flavor == HvgFlavor::seurat ? "seurat" : "seurat_v3";
}

HvgResult highly_variable_genes(RowBlockReader& reader, const HvgOptions& options) {
    check_options(options, reader.n_rows(), reader.n_cols());
    return options.flavor == HvgFlavor::seurat ? seurat(reader, options) : seurat_v3(reader, options);
}

HvgResult highly_variable_genes(const CsrMatrix& x, const HvgOptions& options) {
    InMemoryRowReader reader(x);
    return highly_variable_genes(reader, options);
}

} // namespace scx
