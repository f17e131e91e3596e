// The streaming CSR writer: blocks in, one valid h5ad out (read back with our reader;
// tests/interop/test_simulate.py reads its output with anndata), nothing left on failure.

#include "scextract/core/error.hpp"
#include "scextract/io/h5ad_reader.hpp"
#include "scextract/io/h5ad_stream_writer.hpp"

#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace {

scx::CsrMatrix block(std::int64_t rows, std::int64_t cols, std::int64_t first_row) {
    scx::CsrMatrix m;
    m.n_rows = rows;
    m.n_cols = cols;
    for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t c = 0; c < cols; ++c) {
            if ((first_row + r + c) % 3 == 0) {
                m.indices.push_back(static_cast<std::int32_t>(c));
                m.values.push_back(static_cast<float>(first_row + r) + 0.5F * static_cast<float>(c));
            }
        }
        m.indptr.push_back(static_cast<std::int64_t>(m.values.size()));
    }
    return m;
}

scx::AnnData metadata(std::int64_t rows, std::int64_t cols) {
    scx::AnnData ad;
    ad.n_obs = rows;
    ad.n_vars = cols;
    for (std::int64_t r = 0; r < rows; ++r) ad.obs.index.push_back("c" + std::to_string(r));
    for (std::int64_t c = 0; c < cols; ++c) ad.var.index.push_back("g" + std::to_string(c));
    return ad;
}

class StreamWriter : public ::testing::TestWithParam<int> {};

TEST_P(StreamWriter, BlocksMakeOneMatrix) {
    scx::test::TempDir dir;
    const auto path = (dir.path() / "out.h5ad").string();
    scx::H5adWriteOptions o;
    o.gzip_level = GetParam();
    {
        scx::H5adCsrStreamWriter w(path, 7, o);
        w.append(block(3, 7, 0));
        w.append(block(0, 7, 3)); // empty blocks are fine
        w.append(block(5, 7, 3));
        EXPECT_EQ(w.rows_written(), 8);
        EXPECT_FALSE(std::filesystem::exists(path)); // nothing at the final path before finish()
        w.finish(metadata(8, 7));
    }
    const auto ad = scx::read_h5ad(path);
    ASSERT_TRUE(ad.X.has_value());
    const auto x = scx::to_csr_f32(*ad.X, "X");
    const auto expected = block(8, 7, 0);
    EXPECT_EQ(x.n_rows, 8);
    EXPECT_EQ(x.indptr, expected.indptr);
    EXPECT_EQ(x.indices, expected.indices);
    EXPECT_EQ(x.values, expected.values);
    EXPECT_EQ(ad.obs.index.back(), "c7");
}

INSTANTIATE_TEST_SUITE_P(Gzip, StreamWriter, ::testing::Values(0, 4));

TEST(StreamWriterErrors, NothingIsLeftBehind) {
    scx::test::TempDir dir;
    const auto path = (dir.path() / "out.h5ad").string();
    {
        scx::H5adCsrStreamWriter w(path, 7);
        w.append(block(3, 7, 0));
        EXPECT_THROW(w.append(block(2, 6, 0)), scx::Error); // wrong width
        EXPECT_THROW(w.finish(metadata(4, 7)), scx::Error); // obs rows != rows written
    }
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "the temporary file must be removed";
    {
        scx::H5adCsrStreamWriter w(path, 7);
        w.append(block(2, 7, 0));
        // destroyed without finish(): e.g. an exception in the caller
    }
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

} // namespace
