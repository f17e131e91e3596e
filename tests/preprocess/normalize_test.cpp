#include "scextract/preprocess/normalize.hpp"

#include "fixture_files.hpp"
#include "scextract/core/error.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace scx {
namespace {

CsrMatrix small_counts() {
    // scanpy's normalize_total docstring example plus an all-zero cell.
    const std::vector<float> dense = {3, 3, 3, 6, 6, 1, 1, 1, 2, 2, 1, 22, 1, 2, 2, 0, 0, 0, 0, 0};
    return csr_from_dense(dense, 4, 5);
}

TEST(NormalizeTotal, ScalesEachCellToTheTarget) {
    CsrMatrix x = small_counts();
    NormalizeTotalOptions opt;
    opt.target_sum = 1.0;
    const auto res = normalize_total_in_place(x, opt);
    ASSERT_EQ(res.cell_totals.size(), 4U);
    EXPECT_EQ(res.cell_totals[0], 21.0f);
    EXPECT_EQ(res.cell_totals[3], 0.0f);
    EXPECT_EQ(res.target_sum, 1.0);
    // float32 arithmetic as numpy: value / (total / target)
    EXPECT_EQ(x.values[0], 3.0f / (21.0f / 1.0f));
    EXPECT_NEAR(x.values[0], 0.142857, 1e-6);
    EXPECT_NEAR(x.values[11], 22.0f / 28.0f, 1e-7); // row 2, column 1
    for (std::int64_t r = 0; r < 3; ++r) EXPECT_NEAR(cell_total(x.row_values(r)), 1.0f, 1e-6);
    EXPECT_EQ(x.indptr[4] - x.indptr[3], 0); // the empty cell stays empty
}

TEST(NormalizeTotal, ZeroTotalRowsAreLeftAlone) {
    CsrMatrix x;
    x.n_rows = 1;
    x.n_cols = 3;
    x.values = {0.0f, 0.0f};
    x.indices = {0, 2};
    x.indptr = {0, 2};
    normalize_total_in_place(x);
    EXPECT_EQ(x.values[0], 0.0f);
    EXPECT_EQ(x.values[1], 0.0f);
}

TEST(NormalizeTotal, MedianTargetLikeScanpyOnCsr) {
    CsrMatrix x = small_counts(); // totals 21, 7, 28, 0 -> float32 median of all cells = (7 + 21) / 2
    NormalizeTotalOptions opt;
    opt.target_sum.reset();
    const auto res = normalize_total_in_place(x, opt);
    EXPECT_EQ(res.target_sum, 14.0);
    EXPECT_NEAR(cell_total(x.row_values(1)), 14.0f, 1e-5);
}

TEST(NormalizeTotal, RejectsBadTarget) {
    CsrMatrix x = small_counts();
    NormalizeTotalOptions opt;
    opt.target_sum = 0.0;
    EXPECT_THROW(normalize_total_in_place(x, opt), Error);
    EXPECT_THROW(normalize_rows_in_place(x, -1.0), Error);
}

TEST(Log1p, NaturalLogInPlace) {
    CsrMatrix x = small_counts();
    const CsrMatrix y = log1p(x);
    for (std::size_t k = 0; k < x.values.size(); ++k) EXPECT_EQ(y.values[k], std::log1p(x.values[k]));
    EXPECT_EQ(y.indices, x.indices);
}

class NormalizeFixture : public ::testing::TestWithParam<std::string> {};

// Against scanpy.pp.normalize_total(target_sum=1e4) + log1p on float32 counts.
TEST_P(NormalizeFixture, MatchesScanpy) {
    const std::string key = GetParam();
    const CsrMatrix counts = test::read_counts_csr(test::fixture_dir() / (key + "_counts.scxcsr"));
    CsrMatrix norm = counts;
    const auto res = normalize_total_in_place(norm);
    CsrMatrix logged = log1p(norm);

    const auto cells = test::read_csv(test::fixture_dir() / (key + "_normalize_cells.csv"));
    const auto totals = cells.doubles("total");
    const auto sum_norm = cells.doubles("sum_normalized");
    const auto sum_log = cells.doubles("sum_log1p");
    ASSERT_EQ(static_cast<std::int64_t>(totals.size()), counts.n_rows);
    for (std::int64_t r = 0; r < counts.n_rows; ++r) {
        EXPECT_EQ(static_cast<double>(res.cell_totals[r]), totals[r]) << "row " << r;
        double sn = 0.0, sl = 0.0;
        for (float v : norm.row_values(r)) sn += v;
        for (float v : logged.row_values(r)) sl += v;
        EXPECT_NEAR(sn, sum_norm[r], 1e-12 * std::abs(sum_norm[r])) << "row " << r;
        EXPECT_NEAR(sl, sum_log[r], 1e-12 * std::abs(sum_log[r])) << "row " << r;
    }

    const auto entries = test::read_csv(test::fixture_dir() / (key + "_normalize_entries.csv"));
    const auto rows = entries.ints("row"), cols = entries.ints("col");
    const auto ref_norm = entries.floats("normalized"), ref_log = entries.floats("log1p");
    std::int64_t log_exact = 0;
    double log_max_rel = 0.0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto idx = norm.row_indices(rows[i]);
        const auto it = std::lower_bound(idx.begin(), idx.end(), static_cast<std::int32_t>(cols[i]));
        ASSERT_NE(it, idx.end());
        const auto k = norm.indptr[rows[i]] + (it - idx.begin());
        EXPECT_EQ(norm.values[k], ref_norm[i]) << "entry (" << rows[i] << ", " << cols[i] << ")"; // bit-identical
        log_exact += logged.values[k] == ref_log[i] ? 1 : 0;
        log_max_rel =
            std::max(log_max_rel, std::abs(double(logged.values[k]) - ref_log[i]) / std::abs(double(ref_log[i])));
    }
    // numpy uses the C library's log1pf (bit-identical here); an SVML build may differ by 1 ulp.
    EXPECT_LE(log_max_rel, 1e-6);
    RecordProperty("log1p_exact_fraction", test::sci(double(log_exact) / double(rows.size())));
}

TEST_P(NormalizeFixture, StreamingAndThreadsGiveTheSameBits) {
    const CsrMatrix counts = test::read_counts_csr(test::fixture_dir() / (GetParam() + "_counts.scxcsr"));
    CsrMatrix whole = counts;
    NormalizeTotalOptions opt;
    opt.threads = 1;
    normalize_total_in_place(whole, opt);
    log1p_in_place(whole, 1);

    std::vector<CsrMatrix> blocks;
    for (std::int64_t b = 0; b < counts.n_rows; b += 97) {
        blocks.push_back(slice_rows(counts, b, std::min(counts.n_rows, b + 97)));
        log_normalize_rows_in_place(blocks.back(), 1e4, 2);
    }
    const CsrMatrix streamed = vstack(blocks);
    EXPECT_EQ(streamed.values, whole.values);
    EXPECT_EQ(streamed.indices, whole.indices);
}

INSTANTIATE_TEST_SUITE_P(RealData, NormalizeFixture, ::testing::Values("pbmc68k", "clustifyr"),
                         [](const auto& info) { return info.param; });

} // namespace
} // namespace scx
