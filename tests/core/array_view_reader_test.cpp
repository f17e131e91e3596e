#include "scextract/core/array_view_reader.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

using scx::CsrMatrix;

// 3 cells x 4 genes:  [1 0 2 0; 0 0 0 0; 0 3 0 4]
const std::vector<double> kValues = {1, 2, 3, 4};
const std::vector<std::int64_t> kIndices = {0, 2, 1, 3};
const std::vector<std::int32_t> kIndptr = {0, 2, 2, 4};

void expect_rows_1_to_3(const CsrMatrix& m) {
    EXPECT_EQ(m.n_rows, 2);
    EXPECT_EQ(m.n_cols, 4);
    EXPECT_EQ(m.indptr, (std::vector<std::int64_t>{0, 0, 2}));
    EXPECT_EQ(m.indices, (std::vector<std::int32_t>{1, 3}));
    EXPECT_EQ(m.values, (std::vector<float>{3, 4}));
}

TEST(ArrayViewReader, CsrArraysOfAnyWidthGiveTheRowsAsCsr) {
    scx::CsrArraysReader<double, std::int64_t, std::int32_t> r(kValues.data(), kIndices.data(), kIndptr.data(), 3, 4, "X");
    EXPECT_EQ(r.n_rows(), 3);
    expect_rows_1_to_3(r.read_rows(1, 3));
    const auto all = r.read_rows(0, 3);
    EXPECT_EQ(all.nnz(), 4);
    EXPECT_EQ(all.values, (std::vector<float>{1, 2, 3, 4}));
}

TEST(ArrayViewReader, DenseWithAnyStridesMatchesCsr) {
    const std::vector<float> c_order = {1, 0, 2, 0, 0, 0, 0, 0, 0, 3, 0, 4};
    scx::DenseArrayReader<float> c(c_order.data(), 3, 4, 4, 1, "X");
    expect_rows_1_to_3(c.read_rows(1, 3));
    // the same matrix in Fortran order: element (i, j) at i + 3 j
    std::vector<float> f_order(12);
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 4; ++j) f_order[i + 3 * j] = c_order[4 * i + j];
    scx::DenseArrayReader<float> f(f_order.data(), 3, 4, 1, 3, "X");
    expect_rows_1_to_3(f.read_rows(1, 3));
}

TEST(ArrayViewReader, BrokenArraysAndRangesThrowNamingTheMatrix) {
    const std::vector<std::int64_t> bad_index = {0, 2, 1, 9};
    scx::CsrArraysReader<double, std::int64_t, std::int32_t> r(kValues.data(), bad_index.data(), kIndptr.data(), 3, 4, "adata.X");
    EXPECT_NO_THROW(r.read_rows(0, 1));
    try {
        r.read_rows(2, 3);
        FAIL() << "an index outside the matrix was read";
    } catch (const scx::Error& e) {
        EXPECT_NE(std::string(e.what()).find("adata.X: column index 9"), std::string::npos) << e.what();
    }
    const std::vector<std::int32_t> decreasing = {0, 3, 2, 4};
    scx::CsrArraysReader<double, std::int64_t, std::int32_t> d(kValues.data(), kIndices.data(), decreasing.data(), 3, 4, "X");
    EXPECT_THROW(d.read_rows(0, 3), scx::Error);
    EXPECT_THROW(r.read_rows(2, 4), scx::Error);
    EXPECT_THROW((scx::DenseArrayReader<float>(nullptr, -1, 4, 4, 1, "X")), scx::Error);
}

} // namespace
