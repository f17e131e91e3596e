#include "scextract/preprocess/count_check.hpp"

#include "fixture_files.hpp"
#include "scextract/core/error.hpp"
#include "scextract/preprocess/normalize.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <string>

namespace scx {
namespace {

CsrMatrix pbmc_counts() {
    return test::read_counts_csr(test::fixture_dir() / "pbmc68k_counts.scxcsr");
}

std::string message_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

TEST(InspectValues, RawCounts) {
    const auto r = inspect_values(pbmc_counts());
    EXPECT_EQ(r.kind, ValueKind::counts);
    EXPECT_TRUE(r.is_counts());
    EXPECT_EQ(r.n_rows, 700);
    EXPECT_EQ(r.n_cols, 765);
    EXPECT_EQ(r.n_stored, 174400);
    EXPECT_EQ(r.n_non_integer, 0);
    EXPECT_EQ(r.max_value, 259.0);
    EXPECT_EQ(r.min_value, 1.0);
    EXPECT_FALSE(r.row_sums_constant);
    EXPECT_NO_THROW(require_counts(r, "X", ""));
    EXPECT_NO_THROW(require_log_normalizable(r, "X", ""));
    EXPECT_EQ(r.describe(), "non-negative integer counts (max 259)");
}

TEST(InspectValues, LogNormalised) {
    CsrMatrix x = pbmc_counts();
    log_normalize_rows_in_place(x, 1e4);
    const auto r = inspect_values(x);
    EXPECT_EQ(r.kind, ValueKind::log_normalized);
    EXPECT_TRUE(r.expm1_row_sums_constant); // normalised over these same genes
    EXPECT_NEAR(r.expm1_row_sum_max, 1e4, 1.0);
    EXPECT_LT(r.max_value, 10.0);
    EXPECT_NO_THROW(require_log_normalized(r, "X", ""));

    const auto msg = message_of([&] { require_counts(r, "pbmc.h5ad X", "use --layer counts (layers: counts)"); });
    EXPECT_NE(msg.find("pbmc.h5ad X: expected raw counts"), std::string::npos) << msg;
    EXPECT_NE(msg.find("log-normalised"), std::string::npos) << msg;
    EXPECT_NE(msg.find("use --layer counts (layers: counts)"), std::string::npos) << msg;

    const auto msg2 = message_of([&] { require_log_normalizable(r, "pbmc.h5ad X", "it is already logged"); });
    EXPECT_NE(msg2.find("refusing to log-normalise"), std::string::npos) << msg2;
}

TEST(InspectValues, NormalisedNotLogged) {
    CsrMatrix x = pbmc_counts();
    normalize_total_in_place(x);
    const auto r = inspect_values(x);
    EXPECT_EQ(r.kind, ValueKind::normalized);
    EXPECT_TRUE(r.row_sums_constant);
    EXPECT_THROW(require_counts(r, "X", ""), Error);
    EXPECT_NO_THROW(require_log_normalizable(r, "X", ""));
    EXPECT_THROW(require_log_normalized(r, "X", ""), Error);
}

TEST(InspectValues, ScaledAndNonFinite) {
    CsrMatrix x = csr_from_dense(std::vector<float>{1.5f, -0.5f, 0.0f, 2.0f}, 2, 2);
    auto r = inspect_values(x);
    EXPECT_EQ(r.kind, ValueKind::scaled);
    EXPECT_TRUE(r.has_negative());
    EXPECT_EQ(r.min_value, -0.5);
    EXPECT_THROW(require_log_normalizable(r, "X", ""), Error);
    EXPECT_NE(message_of([&] { require_counts(r, "X", ""); }).find("1 negative"), std::string::npos);

    x.values[0] = std::numeric_limits<float>::quiet_NaN();
    r = inspect_values(x);
    EXPECT_EQ(r.kind, ValueKind::non_finite);
    EXPECT_EQ(r.n_non_finite, 1);
}

TEST(InspectValues, EmptyMatrixPassesCountCheck) {
    CsrMatrix x;
    x.n_rows = 3;
    x.n_cols = 2;
    x.indptr = {0, 0, 0, 0};
    const auto r = inspect_values(x);
    EXPECT_EQ(r.kind, ValueKind::empty);
    EXPECT_NO_THROW(require_counts(r, "X", ""));
}

// Integer rows take a fast integer pass; a row with an integer of 2^23 or more takes the
// general loop. Both must tally the same things: compare a count row with its twin that
// carries one huge integer (which alone changes max and the row sum by a known amount).
TEST(InspectValues, CountFastPathTalliesAsTheGeneralLoop) {
    CsrMatrix x;
    x.n_cols = 5;
    x.n_rows = 3;
    x.values = {0.0F, 3.0F, 7.0F, /**/ 2.0F, 0.0F, 16777216.0F, 1.0F, /**/ 5.0F};
    x.indices = {0, 2, 4, /**/ 0, 1, 2, 3, /**/ 4};
    x.indptr = {0, 3, 7, 8};
    // {max, largest row sum}; the rest is the same for both: 8 stored counts, min 0, row sums from 5
    const auto expect_counts = [](const MatrixValueReport& r, double max, double row_sum_max) {
        EXPECT_EQ(r.kind, ValueKind::counts);
        EXPECT_EQ(r.n_stored, 8);
        EXPECT_EQ(r.n_non_integer, 0);
        EXPECT_EQ(r.min_value, 0.0);
        EXPECT_EQ(r.max_value, max);
        EXPECT_EQ(r.row_sum_min, 5.0);
        EXPECT_EQ(r.row_sum_max, row_sum_max);
    };
    expect_counts(inspect_values(x), 16777216.0, 16777219.0);
    x.values[5] = 4.0F; // now every row is on the fast path
    expect_counts(inspect_values(x), 7.0, 10.0);

    // a non-integer, a negative or a NaN anywhere in a row sends it to the general loop (so does
    // -0, which is still a count)
    x.values[1] = -0.0F;
    EXPECT_EQ(inspect_values(x).kind, ValueKind::counts);
    EXPECT_EQ(inspect_values(x).row_sum_max, 7.0); // 0 + -0 + 7; the second row is 2 + 0 + 4 + 1
    x.values[1] = 2.5F;
    EXPECT_EQ(inspect_values(x).n_non_integer, 1);
    x.values[1] = -3.0F;
    EXPECT_EQ(inspect_values(x).kind, ValueKind::scaled);
    x.values[1] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_EQ(inspect_values(x).kind, ValueKind::non_finite);
}

TEST(InspectValues, StreamingMatchesWholeMatrix) {
    CsrMatrix x = pbmc_counts();
    log_normalize_rows_in_place(x, 1e4);
    InMemoryRowReader reader(x);
    InspectValuesOptions opt;
    opt.block_rows = 64;
    opt.threads = 2;
    const auto a = inspect_values(reader, opt);
    const auto b = inspect_values(x);
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.n_stored, b.n_stored);
    EXPECT_EQ(a.n_non_integer, b.n_non_integer);
    EXPECT_EQ(a.max_value, b.max_value);
    EXPECT_EQ(a.expm1_row_sum_min, b.expm1_row_sum_min);
    EXPECT_EQ(a.expm1_row_sum_max, b.expm1_row_sum_max);
}

} // namespace
} // namespace scx
