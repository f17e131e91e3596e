// tokenize_atlas() and tokenize_official(): hand-computed cells, tie-breaking, truncation,
// scGPT's quantile binning against numpy, seeded reproducibility, empty cells, and the
// matrix forms' independence of the thread count.

#include "scextract/model/tokenizer.hpp"

#include "scextract/core/error.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <vector>

namespace {

using scx::AtlasTokenizerOptions;
using scx::CsrMatrix;
using scx::OfficialTokenizerOptions;
using scx::TokenizedCell;

// Panel column c has vocabulary id 100 + c.
std::vector<std::int64_t> panel_ids(int n) {
    std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
    for (int c = 0; c < n; ++c) ids[static_cast<std::size_t>(c)] = 100 + c;
    return ids;
}

// A dense row as (columns, values) with the zeros left in, so tokenizers must drop them.
struct Row {
    std::vector<std::int32_t> columns;
    std::vector<float> values;
};
Row dense_row(const std::vector<float>& v) {
    Row r;
    for (std::size_t c = 0; c < v.size(); ++c) {
        r.columns.push_back(static_cast<std::int32_t>(c));
        r.values.push_back(v[c]);
    }
    return r;
}

CsrMatrix csr_of(const std::vector<std::vector<float>>& rows) {
    CsrMatrix m;
    m.n_rows = static_cast<std::int64_t>(rows.size());
    m.n_cols = rows.empty() ? 0 : static_cast<std::int64_t>(rows[0].size());
    for (const auto& row : rows) {
        for (std::size_t c = 0; c < row.size(); ++c)
            if (row[c] != 0.0f) {
                m.indices.push_back(static_cast<std::int32_t>(c));
                m.values.push_back(row[c]);
            }
        m.indptr.push_back(static_cast<std::int64_t>(m.values.size()));
    }
    return m;
}

void expect_same(const TokenizedCell& a, const TokenizedCell& b) {
    EXPECT_EQ(a.gene_ids, b.gene_ids);
    EXPECT_EQ(a.values, b.values);
}

// ---- atlas ----

TEST(TokenizerAtlas, SortsByValueDescendingTiesByPanelPosition) {
    const auto ids = panel_ids(8);
    // Entries out of column order; column 3 is a stored zero; columns 0 and 1 tie at 2.0.
    const std::vector<std::int32_t> cols{5, 1, 3, 0, 6};
    const std::vector<float> vals{0.5f, 2.0f, 0.0f, 2.0f, 1.25f};
    const TokenizedCell t = scx::tokenize_atlas(cols, vals, ids);
    EXPECT_EQ(t.gene_ids, (std::vector<std::int64_t>{100, 101, 106, 105}));
    EXPECT_EQ(t.values, (std::vector<float>{2.0f, 2.0f, 1.25f, 0.5f}));
}

TEST(TokenizerAtlas, TruncatesToHighestValues) {
    const auto ids = panel_ids(8);
    const std::vector<std::int32_t> cols{5, 1, 3, 0, 6};
    const std::vector<float> vals{0.5f, 2.0f, 0.0f, 2.0f, 1.25f};
    AtlasTokenizerOptions o;
    o.max_tokens = 3;
    TokenizedCell t = scx::tokenize_atlas(cols, vals, ids, o);
    EXPECT_EQ(t.gene_ids, (std::vector<std::int64_t>{100, 101, 106}));
    o.max_tokens = 1; // the tie at the top goes to the earlier panel position
    t = scx::tokenize_atlas(cols, vals, ids, o);
    EXPECT_EQ(t.gene_ids, (std::vector<std::int64_t>{100}));
    o.max_tokens = 0;
    EXPECT_TRUE(scx::tokenize_atlas(cols, vals, ids, o).gene_ids.empty());
}

TEST(TokenizerAtlas, EmptyCellGivesNoTokens) {
    const auto ids = panel_ids(4);
    const TokenizedCell none = scx::tokenize_atlas({}, {}, ids);
    EXPECT_TRUE(none.gene_ids.empty());
    EXPECT_TRUE(none.values.empty());
    const Row zeros = dense_row({0, 0, 0, 0});
    EXPECT_TRUE(scx::tokenize_atlas(zeros.columns, zeros.values, ids).gene_ids.empty());
}

TEST(TokenizerAtlas, RejectsBadInput) {
    const auto ids = panel_ids(3);
    const std::vector<std::int32_t> out_of_panel{3};
    const std::vector<float> one{1.0f};
    EXPECT_THROW(scx::tokenize_atlas(out_of_panel, one, ids), scx::Error);
    const std::vector<std::int32_t> col0{0};
    const std::vector<float> negative{-1.0f};
    EXPECT_THROW(scx::tokenize_atlas(col0, negative, ids), scx::Error);
    const std::vector<std::int64_t> unmapped{-1, 101, 102};
    EXPECT_THROW(scx::tokenize_atlas(col0, one, unmapped), scx::Error);
}

TEST(TokenizerAtlas, MatrixFormMatchesRowsForAnyThreadCount) {
    std::vector<std::vector<float>> rows;
    for (int r = 0; r < 150; ++r) {
        std::vector<float> row(10, 0.0f);
        for (int c = 0; c < 10; ++c)
            if ((r + c) % 3 != 0) row[static_cast<std::size_t>(c)] = static_cast<float>((r * 7 + c * 5) % 11) * 0.25f;
        rows.push_back(row);
    }
    const CsrMatrix m = csr_of(rows);
    const auto ids = panel_ids(10);
    AtlasTokenizerOptions o;
    o.max_tokens = 4;
    o.threads = 1;
    const auto one = scx::tokenize_atlas(m, ids, o);
    o.threads = 4;
    const auto four = scx::tokenize_atlas(m, ids, o);
    ASSERT_EQ(one.size(), rows.size());
    ASSERT_EQ(four.size(), rows.size());
    for (std::size_t r = 0; r < rows.size(); ++r) {
        expect_same(one[r], four[r]);
        expect_same(one[r], scx::tokenize_atlas(m.row_indices(static_cast<std::int64_t>(r)),
                                                m.row_values(static_cast<std::int64_t>(r)), ids, o));
    }
}

// ---- official (scGPT) ----

// Expected bins below were computed with numpy 2.4.6 (/tmp/probe_venv) exactly as scGPT's
// binning() does it on a float32 row:
//   x = row[row.nonzero()]; b = np.quantile(x, np.linspace(0, 1, n_bins - 1))
//   bins[nonzero] = np.digitize(x, b)
// (on these tie-free rows np.digitize(x, b, right=True) is left - 1 exactly where x equals
// an edge, a single edge at most, so scGPT's random spreading cannot move them).

TEST(TokenizerOfficial, HandCaseEveryValueOnAnEdge) {
    // n_bins 6 -> 5 edges at quantiles 0, .25, .5, .75, 1 of 5 values = the values
    // themselves, so bin = rank + 1. numpy: [2, 0, 4, 3, 5, 0, 1].
    const Row row = dense_row({0.5f, 0.0f, 2.0f, 1.0f, 3.0f, 0.0f, 0.25f});
    OfficialTokenizerOptions o;
    o.n_bins = 6;
    o.cls_id = 7;
    const TokenizedCell t = scx::tokenize_official(row.columns, row.values, panel_ids(7), o);
    EXPECT_EQ(t.gene_ids, (std::vector<std::int64_t>{7, 100, 102, 103, 104, 106}));
    EXPECT_EQ(t.values, (std::vector<float>{-2.0f, 2.0f, 4.0f, 3.0f, 5.0f, 1.0f}));
}

TEST(TokenizerOfficial, GenesInPanelOrderWhateverTheEntryOrder) {
    const std::vector<std::int32_t> cols{6, 4, 0, 3, 2};
    const std::vector<float> vals{0.25f, 3.0f, 0.5f, 1.0f, 2.0f};
    OfficialTokenizerOptions o;
    o.n_bins = 6;
    o.cls_id = 7;
    const TokenizedCell t = scx::tokenize_official(cols, vals, panel_ids(7), o);
    EXPECT_EQ(t.gene_ids, (std::vector<std::int64_t>{7, 100, 102, 103, 104, 106}));
    EXPECT_EQ(t.values, (std::vector<float>{-2.0f, 2.0f, 4.0f, 3.0f, 5.0f, 1.0f}));
}

TEST(TokenizerOfficial, BinsMatchNumpyDefault51) {
    // numpy (n_bins 51): [25, 7, 0, 43, 13, 19, 0, 50, 1, 37, 31]
    const Row row = dense_row({1.3f, 0.2f, 0.0f, 2.9f, 0.7f, 1.1f, 0.0f, 4.2f, 0.05f, 2.2f, 1.7f});
    const OfficialTokenizerOptions o; // n_bins 51, cls 60695, pad -2
    const TokenizedCell t = scx::tokenize_official(row.columns, row.values, panel_ids(11), o);
    EXPECT_EQ(t.gene_ids, (std::vector<std::int64_t>{60695, 100, 101, 103, 104, 105, 107, 108, 109, 110}));
    EXPECT_EQ(t.values, (std::vector<float>{-2, 25, 7, 43, 13, 19, 50, 1, 37, 31}));
}

TEST(TokenizerOfficial, BinsMatchNumpyEightBins) {
    // numpy (n_bins 8): [4, 1, 0, 6, 2, 3, 0, 7, 1, 5, 4]
    const std::vector<float> x{1.3f, 0.2f, 2.9f, 0.7f, 1.1f, 4.2f, 0.05f, 2.2f, 1.7f};
    OfficialTokenizerOptions o;
    o.n_bins = 8;
    EXPECT_EQ(scx::quantile_bins(x, o), (std::vector<std::int64_t>{4, 1, 6, 2, 3, 7, 1, 5, 4}));
    o.spread_ties = false;
    EXPECT_EQ(scx::quantile_bins(x, o), (std::vector<std::int64_t>{4, 1, 6, 2, 3, 7, 1, 5, 4}));
}

TEST(TokenizerOfficial, TiesAreSpreadWithinTheirEdgesAndSeeded) {
    // numpy (n_bins 6) on [1, 1, 1, 2, 0.5]: edges [0.5, 1, 1, 1, 2];
    // digitize left [4, 4, 4, 5, 1], right [1, 1, 1, 4, 0] -> the 1.0s draw from {2, 3, 4}.
    const std::vector<float> x{1.0f, 1.0f, 1.0f, 2.0f, 0.5f};
    OfficialTokenizerOptions o;
    o.n_bins = 6;
    std::set<std::int64_t> seen;
    for (std::uint64_t cell = 0; cell < 200; ++cell) {
        const auto b = scx::quantile_bins(x, o, cell);
        EXPECT_EQ(b, scx::quantile_bins(x, o, cell)); // same seed, same draw
        for (int k = 0; k < 3; ++k) {
            EXPECT_GE(b[static_cast<std::size_t>(k)], 2);
            EXPECT_LE(b[static_cast<std::size_t>(k)], 4);
            seen.insert(b[static_cast<std::size_t>(k)]);
        }
        EXPECT_EQ(b[3], 5);
        EXPECT_EQ(b[4], 1);
    }
    EXPECT_EQ(seen, (std::set<std::int64_t>{2, 3, 4}));
    o.spread_ties = false;
    EXPECT_EQ(scx::quantile_bins(x, o), (std::vector<std::int64_t>{4, 4, 4, 5, 1}));
}

TEST(TokenizerOfficial, SingleExpressedGeneGetsARandomBin) {
    // numpy: one value -> all 50 edges equal it; digitize left 50, right 0.
    const std::vector<float> x{0.7f};
    OfficialTokenizerOptions o;
    for (std::uint64_t cell = 0; cell < 50; ++cell) {
        const auto b = scx::quantile_bins(x, o, cell);
        EXPECT_GE(b[0], 1);
        EXPECT_LE(b[0], 50);
    }
    o.spread_ties = false;
    EXPECT_EQ(scx::quantile_bins(x, o), (std::vector<std::int64_t>{50}));
}

TEST(TokenizerOfficial, EmptyCellGivesOnlyCls) {
    const OfficialTokenizerOptions o;
    const TokenizedCell t = scx::tokenize_official({}, {}, panel_ids(3), o);
    EXPECT_EQ(t.gene_ids, (std::vector<std::int64_t>{60695}));
    EXPECT_EQ(t.values, (std::vector<float>{-2.0f}));
    const Row zeros = dense_row({0, 0, 0});
    expect_same(scx::tokenize_official(zeros.columns, zeros.values, panel_ids(3), o), t);
}

TEST(TokenizerOfficial, SubsamplesBeyondMaxSeqLenSeeded) {
    std::vector<float> v(20);
    for (int c = 0; c < 20; ++c) v[static_cast<std::size_t>(c)] = 0.1f * static_cast<float>((c * 7) % 20 + 1);
    const Row row = dense_row(v);
    const auto ids = panel_ids(20);
    OfficialTokenizerOptions full;
    full.max_seq_len = 21;
    const TokenizedCell all = scx::tokenize_official(row.columns, row.values, ids, full);
    ASSERT_EQ(all.gene_ids.size(), 21u);

    OfficialTokenizerOptions o;
    o.max_seq_len = 6;
    std::set<std::vector<std::int64_t>> distinct;
    for (std::uint64_t cell = 0; cell < 10; ++cell) {
        const TokenizedCell t = scx::tokenize_official(row.columns, row.values, ids, o, cell);
        ASSERT_EQ(t.gene_ids.size(), 6u);
        EXPECT_EQ(t.gene_ids[0], o.cls_id);
        EXPECT_EQ(t.values[0], -2.0f);
        for (std::size_t k = 1; k < t.gene_ids.size(); ++k) {
            if (k > 1) {
                EXPECT_LT(t.gene_ids[k - 1], t.gene_ids[k]); // panel order kept
            }
            // Binning runs on all expressed genes before the draw (tie-free row: deterministic).
            const auto col = static_cast<std::size_t>(t.gene_ids[k] - 100);
            EXPECT_EQ(t.values[k], all.values[col + 1]);
        }
        expect_same(t, scx::tokenize_official(row.columns, row.values, ids, o, cell));
        distinct.insert(t.gene_ids);
    }
    EXPECT_GT(distinct.size(), 1u); // the cell index reseeds the draw
    OfficialTokenizerOptions other = o;
    other.seed = 7;
    bool differs = false;
    for (std::uint64_t cell = 0; cell < 10; ++cell)
        differs |= scx::tokenize_official(row.columns, row.values, ids, other, cell).gene_ids !=
                   scx::tokenize_official(row.columns, row.values, ids, o, cell).gene_ids;
    EXPECT_TRUE(differs);
}

TEST(TokenizerOfficial, MaxSeqLenOneKeepsOnlyCls) {
    const Row row = dense_row({1.0f, 2.0f});
    OfficialTokenizerOptions o;
    o.max_seq_len = 1;
    EXPECT_EQ(scx::tokenize_official(row.columns, row.values, panel_ids(2), o).gene_ids,
              (std::vector<std::int64_t>{60695}));
}

TEST(TokenizerOfficial, RejectsBadOptions) {
    const Row row = dense_row({1.0f});
    OfficialTokenizerOptions o;
    o.n_bins = 1;
    EXPECT_THROW(scx::tokenize_official(row.columns, row.values, panel_ids(1), o), scx::Error);
    o = {};
    o.max_seq_len = 0;
    EXPECT_THROW(scx::tokenize_official(row.columns, row.values, panel_ids(1), o), scx::Error);
}

TEST(TokenizerOfficial, MatrixFormMatchesRowsForAnyThreadCount) {
    std::vector<std::vector<float>> rows;
    for (int r = 0; r < 150; ++r) {
        std::vector<float> row(30, 0.0f);
        for (int c = 0; c < 30; ++c)
            if ((r + 2 * c) % 4 != 0) row[static_cast<std::size_t>(c)] = static_cast<float>((r * 13 + c * 7) % 17 + 1) * 0.2f;
        rows.push_back(row);
    }
    rows[3].assign(30, 0.0f); // an empty cell among them
    const CsrMatrix m = csr_of(rows);
    const auto ids = panel_ids(30);
    OfficialTokenizerOptions o;
    o.max_seq_len = 10;
    o.threads = 1;
    const auto one = scx::tokenize_official(m, ids, o);
    o.threads = 3;
    const auto three = scx::tokenize_official(m, ids, o);
    ASSERT_EQ(one.size(), rows.size());
    ASSERT_EQ(three.size(), rows.size());
    EXPECT_EQ(one[3].gene_ids, (std::vector<std::int64_t>{60695}));
    for (std::size_t r = 0; r < rows.size(); ++r) {
        expect_same(one[r], three[r]);
        expect_same(one[r], scx::tokenize_official(m.row_indices(static_cast<std::int64_t>(r)),
                                                   m.row_values(static_cast<std::int64_t>(r)), ids, o, r));
    }
}

} // namespace
