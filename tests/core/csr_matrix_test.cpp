#include "scextract/core/csr_matrix.hpp"
#include "scextract/core/error.hpp"

#include <gtest/gtest.h>

namespace scx {
namespace {

// 3 x 4:
// [1 0 2 0]
// [0 0 0 0]
// [0 3 0 4]
CsrMatrix example() {
    CsrMatrix m;
    m.n_rows = 3;
    m.n_cols = 4;
    m.values = {1, 2, 3, 4};
    m.indices = {0, 2, 1, 3};
    m.indptr = {0, 2, 2, 4};
    return m;
}

TEST(CsrMatrix, DenseRoundTrip) {
    const auto m = example();
    const auto d = to_dense(m);
    const std::vector<float> expected{1, 0, 2, 0, 0, 0, 0, 0, 0, 3, 0, 4};
    EXPECT_EQ(d, expected);
    const auto back = csr_from_dense(d, 3, 4);
    EXPECT_EQ(back.values, m.values);
    EXPECT_EQ(back.indices, m.indices);
    EXPECT_EQ(back.indptr, m.indptr);
}

TEST(CsrMatrix, TransposeTwiceIsIdentity) {
    const auto m = example();
    const auto t = transpose(m);
    EXPECT_EQ(t.n_rows, 4);
    EXPECT_EQ(t.n_cols, 3);
    EXPECT_EQ(to_dense(t), (std::vector<float>{1, 0, 0, 0, 0, 3, 2, 0, 0, 0, 0, 4}));
    const auto tt = transpose(t);
    EXPECT_EQ(to_dense(tt), to_dense(m));
}

TEST(CsrMatrix, SliceAndStack) {
    const auto m = example();
    const auto a = slice_rows(m, 0, 1), b = slice_rows(m, 1, 3);
    EXPECT_EQ(a.n_rows, 1);
    EXPECT_EQ(b.indptr, (std::vector<std::int64_t>{0, 0, 2}));
    const std::vector<CsrMatrix> parts{a, b};
    const auto s = vstack(parts);
    EXPECT_EQ(to_dense(s), to_dense(m));
    EXPECT_THROW(slice_rows(m, 2, 4), Error);
}

TEST(CsrMatrix, SelectColumnsReordersAndRepeats) {
    const auto m = example();
    const std::vector<std::int64_t> cols{3, 0, 3};
    const auto s = select_columns(m, cols);
    EXPECT_EQ(s.n_cols, 3);
    EXPECT_EQ(to_dense(s), (std::vector<float>{0, 1, 0, 0, 0, 0, 4, 0, 4}));
    const std::vector<std::int64_t> bad{4};
    EXPECT_THROW(select_columns(m, bad), Error);
}

TEST(CsrMatrix, ValidateNamesTheProblem) {
    auto m = example();
    m.indices[1] = 9;
    try {
        m.validate("toy.h5ad:X");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("toy.h5ad:X"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("outside"), std::string::npos);
    }
    m = example();
    m.indptr[2] = 1;
    m.indptr[1] = 2;
    EXPECT_THROW(m.validate("x"), Error);
}

} // namespace
} // namespace scx
