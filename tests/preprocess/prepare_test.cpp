#include "scextract/preprocess/prepare.hpp"

#include "fixture_files.hpp"
#include "scextract/core/error.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace scx {
namespace {

// Cells x genes counts with gene-dependent levels and a few bursty genes, so the
// seurat_v3 loess has a spread of means to fit. Every cell has a non-zero total.
CsrMatrix synthetic_counts(std::int64_t n_cells = 80, std::int64_t n_genes = 60, unsigned seed = 7) {
    std::mt19937 rng(seed);
    std::vector<float> dense(static_cast<std::size_t>(n_cells * n_genes), 0.0f);
    for (std::int64_t c = 0; c < n_cells; ++c) {
        for (std::int64_t g = 0; g < n_genes; ++g) {
            const double level = 0.1 + 0.2 * static_cast<double>(g % 13);
            const double burst = (g % 5 == 0 && c % 4 == 0) ? 8.0 : 1.0;
            const double u = (static_cast<double>(rng()) + 0.5) / 4294967296.0;
            dense[static_cast<std::size_t>(c * n_genes + g)] =
                static_cast<float>(std::floor(-std::log(u) * level * burst));
        }
        dense[static_cast<std::size_t>(c * n_genes + c % n_genes)] += 1.0f;
    }
    return csr_from_dense(dense, n_cells, n_genes);
}

std::vector<std::string> numbered_symbols(std::int64_t n) {
    std::vector<std::string> s;
    for (std::int64_t g = 0; g < n; ++g) s.push_back(fmt::format("G{}", g));
    return s;
}

// Every gene whose position satisfies @p keep, with id 1000 + position.
GeneVocabulary vocab_of(const std::vector<std::string>& symbols, const std::function<bool(std::size_t)>& keep) {
    GeneVocabulary v;
    for (std::size_t g = 0; g < symbols.size(); ++g)
        if (keep(g)) v.emplace(symbols[g], 1000 + static_cast<std::int64_t>(g));
    return v;
}

std::vector<std::int64_t> positions_where(std::size_t n, const std::function<bool(std::size_t)>& keep) {
    std::vector<std::int64_t> p;
    for (std::size_t g = 0; g < n; ++g)
        if (keep(g)) p.push_back(static_cast<std::int64_t>(g));
    return p;
}

PrepareOptions options(HvgFlavor flavor, std::int64_t n_top, VocabFilter filter = VocabFilter::before_hvg,
                       PanelOrder order = PanelOrder::hvg_rank, int threads = 1) {
    PrepareOptions o;
    o.flavor = flavor;
    o.n_top_genes = n_top;
    o.vocab_filter = filter;
    o.panel_order = order;
    o.threads = threads;
    return o;
}

std::string error_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

struct Pbmc {
    CsrMatrix counts = test::read_counts_csr(test::fixture_dir() / "pbmc68k_counts.scxcsr");
    std::vector<std::string> genes = test::read_lines(test::fixture_dir() / "pbmc68k_genes.txt");
};

const Pbmc& pbmc() {
    static const Pbmc p;
    return p;
}

// Two of every three genes are "in the vocabulary".
bool pbmc_keep(std::size_t g) {
    return g % 3 != 0;
}

// ---- counts check --------------------------------------------------------------------------------

TEST(Prepare, RefusesNonCountsWithTheHint) {
    const auto counts = synthetic_counts();
    const auto symbols = numbered_symbols(counts.n_cols);
    const std::string hint = "other matrices in this file: --layer counts, --raw; choose the one that holds raw counts";

    CsrMatrix fractional = counts;
    for (auto& v : fractional.values) v = std::log1p(v);
    auto msg = error_of(
        [&] { prepare_panel(fractional, symbols, nullptr, options(HvgFlavor::seurat, 10), "in.h5ad X", hint); });
    EXPECT_NE(msg.find("in.h5ad X"), std::string::npos) << msg;
    EXPECT_NE(msg.find("raw counts"), std::string::npos) << msg;
    EXPECT_NE(msg.find(hint), std::string::npos) << msg;

    CsrMatrix scaled = counts;
    scaled.values[3] = -1.5f;
    msg = error_of(
        [&] { prepare_panel(scaled, symbols, nullptr, options(HvgFlavor::seurat_v3, 10), "in.h5ad layers/s", hint); });
    EXPECT_NE(msg.find("in.h5ad layers/s"), std::string::npos) << msg;
    EXPECT_NE(msg.find("scaled"), std::string::npos) << msg;
    EXPECT_NE(msg.find(hint), std::string::npos) << msg;
}

TEST(Prepare, RejectsBadArguments) {
    const auto counts = synthetic_counts();
    auto symbols = numbered_symbols(counts.n_cols);
    EXPECT_THROW(prepare_panel(counts, symbols, nullptr, options(HvgFlavor::seurat_v3, 0), "x", ""), UsageError);
    symbols.pop_back();
    const auto msg =
        error_of([&] { prepare_panel(counts, symbols, nullptr, options(HvgFlavor::seurat_v3, 10), "x.h5ad X", ""); });
    EXPECT_NE(msg.find("x.h5ad X"), std::string::npos) << msg;
}

TEST(Prepare, VocabularyWithoutMatchesIsAnError) {
    const auto counts = synthetic_counts();
    const auto symbols = numbered_symbols(counts.n_cols);
    const GeneVocabulary vocab = {{"g0", 1}, {"NOT_A_GENE", 2}, {"<pad>", 3}}; // matching is case-sensitive
    for (auto filter : {VocabFilter::before_hvg, VocabFilter::after_hvg}) {
        const auto msg = error_of([&] {
            prepare_panel(counts, symbols, &vocab, options(HvgFlavor::seurat_v3, 10, filter), "in.h5ad X", "");
        });
        EXPECT_NE(msg.find("vocabulary"), std::string::npos) << vocab_filter_name(filter) << ": " << msg;
        EXPECT_NE(msg.find("in.h5ad X"), std::string::npos) << msg;
    }
}

// ---- panel against scanpy (no vocabulary) --------------------------------------------------------

TEST(Prepare, WithoutVocabularyThePanelIsScanpysRanking) {
    const auto& p = pbmc();
    const auto csv = test::read_csv(test::fixture_dir() / "pbmc68k_hvg_seurat_v3.csv");
    const auto index = csv.ints("index");
    // scanpy with a stable argsort: exact ties by gene index, scextract's rule
    const auto rank = csv.doubles("rank_stable_200");
    std::vector<std::pair<double, std::int64_t>> ranked;
    for (std::size_t i = 0; i < index.size(); ++i)
        if (!std::isnan(rank[i])) ranked.emplace_back(rank[i], index[i]);
    std::sort(ranked.begin(), ranked.end());
    std::vector<std::int64_t> expected;
    for (const auto& [r, g] : ranked) expected.push_back(g);

    const auto r = prepare_panel(p.counts, p.genes, nullptr, options(HvgFlavor::seurat_v3, 200), "pbmc", "");
    EXPECT_EQ(r.panel, expected);
    EXPECT_FALSE(r.alignment.has_value());
    EXPECT_TRUE(r.panel_vocab_ids.empty());
    EXPECT_EQ(static_cast<std::int64_t>(r.hvg_candidates.size()), p.counts.n_cols);

    const auto seurat_csv = test::read_csv(test::fixture_dir() / "pbmc68k_hvg_seurat.csv");
    const auto hv = seurat_csv.ints("hv_200");
    const auto seurat_index = seurat_csv.ints("index");
    std::set<std::int64_t> expected_set;
    for (std::size_t i = 0; i < hv.size(); ++i)
        if (hv[i]) expected_set.insert(seurat_index[i]);
    const auto s = prepare_panel(p.counts, p.genes, nullptr, options(HvgFlavor::seurat, 200), "pbmc", "");
    EXPECT_EQ(std::set<std::int64_t>(s.panel.begin(), s.panel.end()), expected_set);
    for (std::size_t k = 1; k < s.panel.size(); ++k) {
        const double a = s.hvg.dispersions_norm[static_cast<std::size_t>(s.panel[k - 1])];
        const double b = s.hvg.dispersions_norm[static_cast<std::size_t>(s.panel[k])];
        EXPECT_TRUE(a > b || (a == b && s.panel[k - 1] < s.panel[k])) << "position " << k;
    }
}

// ---- vocabulary filter ---------------------------------------------------------------------------

class PrepareVocab : public ::testing::TestWithParam<HvgFlavor> {};

TEST_P(PrepareVocab, BeforeHvgSelectsAmongVocabularyGenes) {
    const auto& p = pbmc();
    const auto vocab = vocab_of(p.genes, pbmc_keep);
    const auto in_vocab = positions_where(p.genes.size(), pbmc_keep);
    const auto r = prepare_panel(p.counts, p.genes, &vocab, options(GetParam(), 150), "pbmc", "");

    ASSERT_TRUE(r.alignment.has_value());
    EXPECT_EQ(r.alignment->positions, in_vocab);
    EXPECT_EQ(r.hvg_candidates, in_vocab);
    EXPECT_EQ(r.hvg.means.size(), in_vocab.size()); // statistics over the candidates only
    EXPECT_EQ(r.panel.size(), 150U);
    ASSERT_EQ(r.panel_vocab_ids.size(), r.panel.size());
    for (std::size_t k = 0; k < r.panel.size(); ++k) {
        EXPECT_TRUE(pbmc_keep(static_cast<std::size_t>(r.panel[k]))) << "gene " << r.panel[k];
        EXPECT_EQ(r.panel_vocab_ids[k], 1000 + r.panel[k]);
    }

    // the same as HVG selection run on the vocabulary's columns; seurat on values
    // normalised over all genes, before any gene is dropped
    CsrMatrix lognorm = p.counts;
    normalize_total_in_place(lognorm, {.target_sum = 1e4, .threads = 1});
    log1p_in_place(lognorm, 1);
    const auto& source = GetParam() == HvgFlavor::seurat_v3 ? p.counts : lognorm;
    HvgOptions hvg_options;
    hvg_options.flavor = GetParam();
    hvg_options.n_top_genes = 150;
    hvg_options.threads = 1;
    const auto direct = highly_variable_genes(select_columns(source, in_vocab), hvg_options);
    std::vector<std::int64_t> expected;
    for (auto k : direct.selected) expected.push_back(in_vocab[static_cast<std::size_t>(k)]);
    EXPECT_EQ(r.panel, expected);
    EXPECT_EQ(r.hvg.means, direct.means);
}

TEST_P(PrepareVocab, AfterHvgDropsNonVocabularyGenesFromTheFullSelection) {
    const auto& p = pbmc();
    const auto vocab = vocab_of(p.genes, pbmc_keep);
    const auto all = prepare_panel(p.counts, p.genes, nullptr, options(GetParam(), 150), "pbmc", "");
    const auto r =
        prepare_panel(p.counts, p.genes, &vocab, options(GetParam(), 150, VocabFilter::after_hvg), "pbmc", "");

    EXPECT_EQ(static_cast<std::int64_t>(r.hvg_candidates.size()), p.counts.n_cols);
    std::vector<std::int64_t> expected;
    for (auto g : all.panel)
        if (pbmc_keep(static_cast<std::size_t>(g))) expected.push_back(g);
    EXPECT_EQ(r.panel, expected);
    EXPECT_LT(r.panel.size(), 150U); // some of the full selection is outside the vocabulary
    EXPECT_GT(r.panel.size(), 0U);
    EXPECT_EQ(r.hvg.means, all.hvg.means);
    for (std::size_t k = 0; k < r.panel.size(); ++k) EXPECT_EQ(r.panel_vocab_ids[k], 1000 + r.panel[k]);
}

TEST_P(PrepareVocab, PanelOrderInputIsTheSameSetInInputOrder) {
    const auto& p = pbmc();
    const auto vocab = vocab_of(p.genes, pbmc_keep);
    for (auto filter : {VocabFilter::before_hvg, VocabFilter::after_hvg}) {
        const auto ranked = prepare_panel(p.counts, p.genes, &vocab, options(GetParam(), 120, filter), "pbmc", "");
        const auto by_input =
            prepare_panel(p.counts, p.genes, &vocab, options(GetParam(), 120, filter, PanelOrder::input), "pbmc", "");
        auto sorted = ranked.panel;
        std::sort(sorted.begin(), sorted.end());
        EXPECT_EQ(by_input.panel, sorted) << vocab_filter_name(filter);
        EXPECT_NE(ranked.panel, sorted) << "hvg_rank order should not be input order";
        for (std::size_t k = 0; k < by_input.panel.size(); ++k)
            EXPECT_EQ(by_input.panel_vocab_ids[k], 1000 + by_input.panel[k]);
        // the same columns, re-ordered: column k of by_input is column perm[k] of ranked
        std::vector<std::int64_t> perm;
        for (auto g : by_input.panel)
            perm.push_back(std::find(ranked.panel.begin(), ranked.panel.end(), g) - ranked.panel.begin());
        EXPECT_EQ(by_input.panel_log_normalized.values, select_columns(ranked.panel_log_normalized, perm).values);
    }
}

INSTANTIATE_TEST_SUITE_P(Prepare, PrepareVocab, ::testing::Values(HvgFlavor::seurat_v3, HvgFlavor::seurat),
                         [](const auto& info) { return std::string(hvg_flavor_name(info.param)); });

TEST(Prepare, PanelLargerThanTheVocabularyTakesEveryCandidate) {
    const auto counts = synthetic_counts();
    const auto symbols = numbered_symbols(counts.n_cols);
    const auto even = [](std::size_t g) { return g % 2 == 0; };
    const auto vocab = vocab_of(symbols, even);
    const auto r = prepare_panel(counts, symbols, &vocab, options(HvgFlavor::seurat_v3, 45), "synthetic", "");
    auto sorted = r.panel;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, positions_where(symbols.size(), even));
}

// ---- the log-normalised panel --------------------------------------------------------------------

TEST(Prepare, PanelLogNormalizedIsLog1pOfCountsNormalisedOverAllGenes) {
    const auto counts = synthetic_counts();
    const auto symbols = numbered_symbols(counts.n_cols);
    const auto vocab = vocab_of(symbols, [](std::size_t g) { return g % 4 != 1; });
    for (auto flavor : {HvgFlavor::seurat_v3, HvgFlavor::seurat}) {
        auto o = options(flavor, 12);
        o.target_sum = 5000.0;
        const auto r = prepare_panel(counts, symbols, &vocab, o, "synthetic", "");
        ASSERT_EQ(r.panel.size(), 12U);
        const auto& ln = r.panel_log_normalized;
        ASSERT_EQ(ln.n_rows, counts.n_rows);
        ASSERT_EQ(ln.n_cols, 12);
        ln.validate("panel_log_normalized");

        // independent double-precision reference: log1p(count * target / total over all genes)
        const auto dense_counts = to_dense(counts);
        const auto dense_ln = to_dense(ln);
        ASSERT_EQ(r.cell_totals.size(), static_cast<std::size_t>(counts.n_rows));
        for (std::int64_t c = 0; c < counts.n_rows; ++c) {
            double total = 0.0;
            for (std::int64_t g = 0; g < counts.n_cols; ++g)
                total += dense_counts[static_cast<std::size_t>(c * counts.n_cols + g)];
            EXPECT_EQ(r.cell_totals[static_cast<std::size_t>(c)], static_cast<float>(total)) << "cell " << c;
            for (std::size_t k = 0; k < r.panel.size(); ++k) {
                const double x = dense_counts[static_cast<std::size_t>(c * counts.n_cols + r.panel[k])];
                const double expected = std::log1p(x * 5000.0 / total);
                EXPECT_NEAR(dense_ln[static_cast<std::size_t>(c) * 12 + k], expected, 1e-6 * std::max(1.0, expected))
                    << hvg_flavor_name(flavor) << " cell " << c << " panel gene " << k;
            }
        }
        // and bit for bit the library's normalize_total + log1p, then the panel's columns
        CsrMatrix full = counts;
        normalize_total_in_place(full, {.target_sum = 5000.0, .threads = 1});
        log1p_in_place(full, 1);
        const auto expected = select_columns(full, r.panel);
        EXPECT_EQ(ln.indptr, expected.indptr);
        EXPECT_EQ(ln.indices, expected.indices);
        EXPECT_EQ(ln.values, expected.values);
    }
}

// ---- threads -------------------------------------------------------------------------------------

void expect_same_bits(const std::vector<double>& a, const std::vector<double>& b, const char* what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    for (std::size_t i = 0; i < a.size(); ++i)
        EXPECT_TRUE(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))
            << what << "[" << i << "]: " << a[i] << " vs " << b[i];
}

class PrepareThreads : public ::testing::TestWithParam<std::tuple<HvgFlavor, VocabFilter>> {};

TEST_P(PrepareThreads, OneAndTwoThreadsGiveTheSameResult) {
    const auto& p = pbmc();
    const auto vocab = vocab_of(p.genes, pbmc_keep);
    const auto [flavor, filter] = GetParam();
    const auto one =
        prepare_panel(p.counts, p.genes, &vocab, options(flavor, 200, filter, PanelOrder::hvg_rank, 1), "pbmc", "");
    const auto two =
        prepare_panel(p.counts, p.genes, &vocab, options(flavor, 200, filter, PanelOrder::hvg_rank, 2), "pbmc", "");
    EXPECT_EQ(one.panel, two.panel);
    EXPECT_EQ(one.panel_vocab_ids, two.panel_vocab_ids);
    EXPECT_EQ(one.hvg_candidates, two.hvg_candidates);
    EXPECT_EQ(one.cell_totals, two.cell_totals);
    expect_same_bits(one.hvg.means, two.hvg.means, "means");
    expect_same_bits(one.hvg.variances, two.hvg.variances, "variances");
    expect_same_bits(one.hvg.variances_norm, two.hvg.variances_norm, "variances_norm");
    expect_same_bits(one.hvg.dispersions, two.hvg.dispersions, "dispersions");
    expect_same_bits(one.hvg.dispersions_norm, two.hvg.dispersions_norm, "dispersions_norm");
    EXPECT_EQ(one.panel_log_normalized.indptr, two.panel_log_normalized.indptr);
    EXPECT_EQ(one.panel_log_normalized.indices, two.panel_log_normalized.indices);
    EXPECT_EQ(one.panel_log_normalized.values, two.panel_log_normalized.values);
    EXPECT_EQ(one.values.describe(), two.values.describe());
}

INSTANTIATE_TEST_SUITE_P(Prepare, PrepareThreads,
                         ::testing::Combine(::testing::Values(HvgFlavor::seurat_v3, HvgFlavor::seurat),
                                            ::testing::Values(VocabFilter::before_hvg, VocabFilter::after_hvg)),
                         [](const auto& info) {
                             return std::string(hvg_flavor_name(std::get<0>(info.param))) + "_" +
                                    vocab_filter_name(std::get<1>(info.param));
                         });

} // namespace
} // namespace scx
