// The attention atlas (extract/atlas.hpp) against a naive reference that stores every
// attention map of the forward pass and averages them in double; bit-identity across
// threads and batch sizes; co-occurrence semantics; the seeded cell sample.

#include "scextract/extract/atlas.hpp"
#include "scextract/model/scgpt_forward.hpp"

#include "../support/error_of.hpp"
#include "../support/fixture_weights.hpp"
#include "../support/forward_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace {

using scx::test::error_of;

/// A cells x G panel matrix of log1p-like values: each cell expresses a random subset of
/// the panel with values drawn from a few levels (so ties occur), some cells expressing nothing.
scx::CsrMatrix random_panel(std::int64_t n_cells, std::int64_t g, std::uint32_t seed, double density = 0.4) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::vector<float> dense(static_cast<std::size_t>(n_cells * g), 0.0F);
    for (std::int64_t r = 0; r < n_cells; ++r) {
        if (r % 7 == 5) continue; // an empty cell
        for (std::int64_t c = 0; c < g; ++c)
            if (u(rng) < density) dense[static_cast<std::size_t>(r * g + c)] = static_cast<float>(1 + static_cast<int>(u(rng) * 6)) * 0.37F;
    }
    return scx::csr_from_dense(dense, n_cells, g);
}

/// Panel -> vocabulary ids of the d16_h4 model (vocabulary 50; 49 is <pad>), unsorted.
std::vector<std::int64_t> panel_ids(std::int64_t g) {
    std::vector<std::int64_t> ids;
    for (std::int64_t k = 0; k < g; ++k) ids.push_back((k * 17 + 5) % 49);
    return ids;
}

/// METHOD.md's rule written out here: panel genes with value > 0, by value descending,
/// ties by panel position, at most max_tokens; returns panel positions.
std::vector<std::int64_t> reference_tokens(const scx::CsrMatrix& m, std::int64_t r, std::int64_t max_tokens) {
    std::vector<std::pair<float, std::int64_t>> e;
    const auto idx = m.row_indices(r);
    const auto val = m.row_values(r);
    for (std::size_t k = 0; k < idx.size(); ++k)
        if (val[k] > 0) e.emplace_back(val[k], idx[k]);
    std::sort(e.begin(), e.end(), [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
    if (static_cast<std::int64_t>(e.size()) > max_tokens) e.resize(static_cast<std::size_t>(max_tokens));
    std::vector<std::int64_t> pos;
    for (const auto& x : e) pos.push_back(x.second);
    return pos;
}

struct Naive {
    std::vector<scx::RowMatrixD> a; // per head
    std::vector<std::int64_t> count; // G x G
};

/// Stores every attention map of the chosen rows (StoreAll) and averages in double.
Naive naive_atlas(const scx::ScGptWeights& w, const scx::CsrMatrix& m, const std::vector<std::int64_t>& ids,
                  const std::vector<std::int64_t>& rows, std::int64_t max_tokens) {
    const std::int64_t g = m.n_cols, heads = w.config.n_heads, layers = w.config.n_layers;
    std::vector<std::vector<std::int64_t>> pos;
    std::vector<scx::TokenizedCell> cells;
    for (auto r : rows) {
        pos.push_back(reference_tokens(m, r, max_tokens));
        scx::TokenizedCell c;
        for (auto p : pos.back()) {
            c.gene_ids.push_back(ids[static_cast<std::size_t>(p)]);
            c.values.push_back(0);
        }
        const auto idx = m.row_indices(r);
        const auto val = m.row_values(r);
        for (std::size_t t = 0; t < pos.back().size(); ++t)
            for (std::size_t k = 0; k < idx.size(); ++k)
                if (idx[k] == pos.back()[t]) c.values[t] = val[k];
        cells.push_back(c);
    }
    scx::test::StoreAll store;
    scx::ScGptForwardOptions f;
    f.visitor = &store;
    (void)scx::run_scgpt_forward(w, cells, f);
    Naive out;
    out.count.assign(static_cast<std::size_t>(g * g), 0);
    std::vector<scx::RowMatrixD> sum(static_cast<std::size_t>(layers * heads), scx::RowMatrixD::Zero(g, g));
    for (const auto& p : pos)
        for (auto i : p)
            for (auto j : p) ++out.count[static_cast<std::size_t>(i * g + j)];
    for (const auto& s : store.all()) {
        const auto& p = pos[static_cast<std::size_t>(s.cell)];
        for (std::int64_t q = 0; q < s.length; ++q)
            for (std::int64_t k = 0; k < s.length; ++k)
                sum[static_cast<std::size_t>(s.layer * heads + s.head)](p[static_cast<std::size_t>(q)], p[static_cast<std::size_t>(k)]) +=
                    s.probs[static_cast<std::size_t>(q * s.length + k)];
    }
    for (auto& s : sum) {
        for (std::int64_t e = 0; e < g * g; ++e) s.data()[e] /= static_cast<double>(std::max<std::int64_t>(out.count[static_cast<std::size_t>(e)], 1));
        out.a.push_back(s);
    }
    return out;
}

std::vector<std::int64_t> non_empty_rows(const scx::CsrMatrix& m) {
    std::vector<std::int64_t> rows;
    for (std::int64_t r = 0; r < m.n_rows; ++r)
        if (!m.row_values(r).empty()) rows.push_back(r);
    return rows;
}

scx::AtlasOptions atlas_options(int threads, std::int64_t n_cells = 600) {
    scx::AtlasOptions o;
    o.threads = threads;
    o.n_cells = n_cells;
    return o;
}

bool same_bits(const scx::OperatorSet& a, const scx::OperatorSet& b) {
    if (a.ops.size() != b.ops.size() || a.cooccurrence != b.cooccurrence) return false;
    for (std::size_t k = 0; k < a.ops.size(); ++k)
        if (a.ops[k].size() != b.ops[k].size() ||
            std::memcmp(a.ops[k].data(), b.ops[k].data(), sizeof(float) * static_cast<std::size_t>(a.ops[k].size())) != 0)
            return false;
    return true;
}

TEST(Atlas, EqualsNaiveReferenceThatStoresEveryMap) {
    const auto w = scx::test::load_fixture_weights("d16_h4");
    const std::int64_t g = 30;
    const auto m = random_panel(40, g, 3);
    const auto ids = panel_ids(g);
    scx::AtlasOptions o;
    o.n_cells = 1000; // more than there are: all cells with a panel gene
    o.threads = 2;
    const auto r = scx::run_attention_atlas(w, m, ids, o);
    const auto rows = non_empty_rows(m);
    EXPECT_EQ(r.cells, rows);
    EXPECT_EQ(r.cells_available, static_cast<std::int64_t>(rows.size()));
    const auto ref = naive_atlas(w, m, ids, rows, 1200);
    const auto& set = r.operators;
    ASSERT_EQ(set.n_layers, 3);
    ASSERT_EQ(set.n_heads, 4);
    EXPECT_EQ(set.vocab_ids, ids);
    ASSERT_EQ(set.cooccurrence.size(), static_cast<std::size_t>(g * g));
    for (std::int64_t e = 0; e < g * g; ++e) EXPECT_EQ(set.cooccurrence[static_cast<std::size_t>(e)], ref.count[static_cast<std::size_t>(e)]);
    double worst = 0;
    for (std::size_t k = 0; k < set.ops.size(); ++k) worst = std::max(worst, (set.ops[k].cast<double>() - ref.a[k]).cwiseAbs().maxCoeff());
    EXPECT_LT(worst, 1e-6);
    // every attention row sums to 1, so sum_j A[i, j] C[i, j] = C[i, i] (cells expressing i)
    for (const auto& a : set.ops)
        for (std::int64_t i = 0; i < g; ++i) {
            double s = 0;
            for (std::int64_t j = 0; j < g; ++j) s += static_cast<double>(a(i, j)) * set.cooccurrence[static_cast<std::size_t>(i * g + j)];
            EXPECT_NEAR(s, set.cooccurrence[static_cast<std::size_t>(i * g + i)], 1e-4);
        }
    const auto& p = set.provenance;
    EXPECT_EQ(p.mode, "atlas");
    EXPECT_EQ(p.cells_used, static_cast<std::int64_t>(rows.size()));
    EXPECT_EQ(p.cells_total, 40);
    EXPECT_EQ(p.seed, 42u);
    EXPECT_EQ(p.cell_indices, rows);
    EXPECT_EQ(p.max_tokens, 1200);
    EXPECT_FALSE(p.tokenizer.empty());
}

TEST(Atlas, MaxTokensKeepsTheHighestValues) {
    const auto w = scx::test::load_fixture_weights("d16_h4");
    const std::int64_t g = 20;
    const auto m = random_panel(15, g, 11, 0.7);
    const auto ids = panel_ids(g);
    scx::AtlasOptions o;
    o.max_tokens = 4;
    o.threads = 1;
    const auto r = scx::run_attention_atlas(w, m, ids, o);
    EXPECT_LE(r.max_cell_tokens, 4);
    const auto ref = naive_atlas(w, m, ids, non_empty_rows(m), 4);
    for (std::size_t k = 0; k < r.operators.ops.size(); ++k)
        EXPECT_LT((r.operators.ops[k].cast<double>() - ref.a[k]).cwiseAbs().maxCoeff(), 1e-6);
}

TEST(Atlas, BitIdenticalForAnyThreadCountAndBatchSize) {
    const auto w = scx::test::load_fixture_weights("d32_h8");
    const std::int64_t g = 25;
    const auto m = random_panel(60, g, 5);
    const auto ids = panel_ids(g);
    scx::AtlasOptions o;
    o.n_cells = 45;
    o.threads = 1;
    o.batch_size = 1;
    const auto base = scx::run_attention_atlas(w, m, ids, o);
    for (int threads : {1, 2, 3}) {
        for (std::int64_t batch : {1, 2, 7, 64}) {
            o.threads = threads;
            o.batch_size = batch;
            const auto r = scx::run_attention_atlas(w, m, ids, o);
            EXPECT_TRUE(same_bits(base.operators, r.operators)) << threads << " threads, batch " << batch;
            EXPECT_EQ(base.cells, r.cells);
        }
    }
}

TEST(Atlas, PairsNeverSeenTogetherAreZero) {
    const auto w = scx::test::load_fixture_weights("d16_h4");
    // genes 0 and 1 are never expressed in the same cell; gene 4 never at all
    const std::int64_t g = 5;
    const std::vector<float> dense = {
        1.0F, 0.0F, 2.0F, 0.5F, 0.0F, //
        0.0F, 3.0F, 2.0F, 0.0F, 0.0F, //
        2.0F, 0.0F, 0.0F, 1.0F, 0.0F, //
        0.0F, 1.0F, 0.0F, 1.0F, 0.0F,
    };
    const auto m = scx::csr_from_dense(dense, 4, g);
    const auto r = scx::run_attention_atlas(w, m, panel_ids(g), atlas_options(1));
    const auto& c = r.operators.cooccurrence;
    EXPECT_EQ(c[0 * g + 1], 0);
    EXPECT_EQ(c[1 * g + 0], 0);
    EXPECT_EQ(c[0 * g + 0], 2); // cells expressing gene 0
    EXPECT_EQ(c[2 * g + 3], 1);
    EXPECT_EQ(c[3 * g + 3], 3);
    for (const auto& a : r.operators.ops) {
        EXPECT_EQ(a(0, 1), 0.0F);
        EXPECT_EQ(a(1, 0), 0.0F);
        EXPECT_EQ(a.row(4).cwiseAbs().sum(), 0.0F);
        EXPECT_EQ(a.col(4).cwiseAbs().sum(), 0.0F);
        EXPECT_GT(a(0, 2), 0.0F);
        EXPECT_GT(a(1, 2), 0.0F);
    }
}

TEST(Atlas, CellsAreSampledWithTheSeed) {
    const auto w = scx::test::load_fixture_weights("d16_h4");
    const std::int64_t g = 12;
    const auto m = random_panel(50, g, 8);
    const auto ids = panel_ids(g);
    const auto frame = non_empty_rows(m);
    const auto run = [&](std::uint64_t seed, std::int64_t n) {
        scx::AtlasOptions o;
        o.n_cells = n;
        o.seed = seed;
        o.threads = 2;
        return scx::run_attention_atlas(w, m, ids, o);
    };
    const auto a = run(42, 10), b = run(42, 10), c = run(7, 10);
    EXPECT_EQ(a.cells.size(), 10u);
    EXPECT_EQ(a.cells, b.cells);
    EXPECT_TRUE(same_bits(a.operators, b.operators));
    EXPECT_NE(a.cells, c.cells);
    EXPECT_TRUE(std::is_sorted(a.cells.begin(), a.cells.end()));
    EXPECT_EQ(std::adjacent_find(a.cells.begin(), a.cells.end()), a.cells.end());
    for (auto r : a.cells) EXPECT_TRUE(std::binary_search(frame.begin(), frame.end(), r)) << r; // empty cells never drawn
    EXPECT_EQ(a.operators.provenance.cell_indices, a.cells);
    EXPECT_EQ(a.operators.provenance.cells_used, 10);
    EXPECT_EQ(a.operators.provenance.cells_available, static_cast<std::int64_t>(frame.size()));

    // the atlas of the sample is the atlas of exactly those cells
    const auto ref = naive_atlas(w, m, ids, a.cells, 1200);
    for (std::size_t k = 0; k < a.operators.ops.size(); ++k)
        EXPECT_LT((a.operators.ops[k].cast<double>() - ref.a[k]).cwiseAbs().maxCoeff(), 1e-6);

    // every cell is drawn about equally often over many seeds
    std::map<std::int64_t, int> hits;
    for (std::uint64_t seed = 0; seed < 200; ++seed) {
        scx::AtlasOptions o;
        o.n_cells = 1;
        o.seed = seed;
        o.threads = 1;
        const auto one = scx::run_attention_atlas(w, m, ids, o);
        ++hits[one.cells.at(0)];
    }
    EXPECT_GT(hits.size(), frame.size() * 3 / 4);
}

TEST(Atlas, ProgressCountsCells) {
    const auto w = scx::test::load_fixture_weights("d16_h4");
    const auto m = random_panel(20, 10, 2);
    std::int64_t last = 0, total = 0, calls = 0;
    scx::AtlasOptions o;
    o.threads = 2;
    o.progress = [&](std::int64_t d, std::int64_t t) {
        ++calls;
        last = std::max(last, d);
        total = t;
    };
    const auto r = scx::run_attention_atlas(w, m, panel_ids(10), o);
    EXPECT_EQ(calls, static_cast<std::int64_t>(r.cells.size()));
    EXPECT_EQ(last, total);
    EXPECT_EQ(total, static_cast<std::int64_t>(r.cells.size()));
}

TEST(Atlas, Errors) {
    const auto w = scx::test::load_fixture_weights("d16_h4");
    const auto m = random_panel(10, 6, 1);
    EXPECT_NE(error_of([&] { (void)scx::run_attention_atlas(w, m, panel_ids(5)); })
                  .find("the panel matrix has 6 columns but 5 vocabulary ids"),
              std::string::npos);
    auto ids = panel_ids(6);
    ids[2] = 50;
    EXPECT_NE(error_of([&] { (void)scx::run_attention_atlas(w, m, ids); }).find("panel gene 2 has vocabulary id 50"),
              std::string::npos);
    const auto empty = scx::csr_from_dense(std::vector<float>(12, 0.0F), 2, 6);
    EXPECT_NE(error_of([&] { (void)scx::run_attention_atlas(w, empty, panel_ids(6)); }).find("none of the 2 cells expresses a panel gene"),
              std::string::npos);
    EXPECT_NE(error_of([&] { (void)scx::run_attention_atlas(w, m, panel_ids(6), atlas_options(1, 0)); }).find("n_cells is 0"),
              std::string::npos);
}

} // namespace
