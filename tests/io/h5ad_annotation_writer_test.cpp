// The annotation writer: per-cell results streamed block by block into a copy of an h5ad
// (read back with our reader; tests/interop/test_fit_apply.py reads apply's output with
// anndata), existing columns replaced, and nothing left behind without commit().

#include "scextract/core/error.hpp"
#include "scextract/io/h5ad_annotation_writer.hpp"
#include "scextract/io/h5ad_reader.hpp"
#include "scextract/io/h5ad_writer.hpp"

#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace scx {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

constexpr std::int64_t kCells = 11;

AnnData input() {
    AnnData ad;
    ad.n_obs = kCells;
    ad.n_vars = 4;
    std::vector<float> x(static_cast<std::size_t>(kCells * 4));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 3);
    ad.X = from_csr(csr_from_dense(x, kCells, 4));
    for (std::int64_t i = 0; i < kCells; ++i) ad.obs.index.push_back("cell" + std::to_string(i));
    for (std::int64_t j = 0; j < 4; ++j) ad.var.index.push_back("G" + std::to_string(j));
    ad.obs.set("donor", StringArray{{kCells}, std::vector<std::string>(kCells, "D1")});
    ad.obs.set("scx_depth", NdArray::from(std::vector<double>(kCells, -1.0))); // from an earlier apply
    ad.obs.set("batch", NdArray::from(std::vector<std::int64_t>(kCells, 3)));
    ad.obsm.set("X_pca", Element{NdArray::from(std::vector<float>(kCells * 2, 0.5F), {kCells, 2})});
    ad.obsm.set("X_scx", Element{NdArray::from(std::vector<float>(kCells * 5, 9.0F), {kCells, 5})});
    ad.uns.set("keep", Element{StringArray{{}, {"me"}}});
    return ad;
}

/// Writes results in blocks of @p block rows: scx_depth (replacing), scx_frac (float32),
/// scx_branch (categorical), obsm X_scx (3 columns, replacing a 5-column one) and uns.
void write_results(H5adAnnotationWriter& w, std::int64_t block) {
    const std::vector<std::string> classes{"lymphoid", "myeloid"};
    w.add_obs_numeric("scx_depth");
    w.add_obs_numeric("scx_frac", DType::float32);
    w.add_obs_categorical("scx_branch", classes);
    w.add_obsm("X_scx", 3);
    w.set_uns("scx", Element{StringArray{{}, {"provenance"}}});
    for (std::int64_t first = 0; first < kCells; first += block) {
        const auto n = std::min(block, kCells - first);
        std::vector<double> depth;
        std::vector<float> frac;
        std::vector<std::int32_t> codes;
        RowMatrixF z(n, 3);
        for (std::int64_t i = first; i < first + n; ++i) {
            depth.push_back(0.25 * static_cast<double>(i));
            frac.push_back(static_cast<float>(i) / 16.0F);
            codes.push_back(i % 3 == 2 ? -1 : static_cast<std::int32_t>(i % 2));
            for (int c = 0; c < 3; ++c) z(i - first, c) = static_cast<float>(10 * i + c);
        }
        w.write_obs("scx_depth", first, std::span<const double>(depth));
        w.write_obs("scx_frac", first, NdArray::from(frac)); // as a Column
        Categorical cat;
        cat.codes = NdArray::from(codes);
        cat.categories = StringArray{{2}, classes};
        if (first % 2 == 0) w.write_obs("scx_branch", first, cat);
        else w.write_obs_codes("scx_branch", first, codes);
        w.write_obsm("X_scx", first, z);
    }
}

class AnnotationWriter : public ::testing::TestWithParam<std::tuple<std::int64_t, int>> {};

TEST_P(AnnotationWriter, RoundTripKeepsTheInputAndReplacesColumns) {
    const auto [block, gzip] = GetParam();
    const TempDir dir;
    const auto in = (dir / "in.h5ad").string(), out = (dir / "out.h5ad").string();
    write_h5ad(input(), in);
    const auto before = fs::file_size(in);
    {
        H5adAnnotationWriter w(in, out, {.gzip_level = gzip});
        EXPECT_EQ(w.n_obs(), kCells);
        write_results(w, block);
        EXPECT_FALSE(fs::exists(out)); // nothing at the final path before commit()
        w.commit();
    }
    EXPECT_EQ(fs::file_size(in), before);
    const auto back = read_h5ad(out);
    // the input's own elements survive; replaced columns keep their place, new ones are appended
    std::vector<std::string> names;
    for (const auto& [k, c] : back.obs.columns) names.push_back(k);
    EXPECT_EQ(names, (std::vector<std::string>{"donor", "scx_depth", "batch", "scx_frac", "scx_branch"}));
    EXPECT_EQ(back.obs.index.back(), "cell10");
    ASSERT_TRUE(back.X.has_value());
    EXPECT_EQ(to_csr_f32(*back.X, "X").values, to_csr_f32(*input().X, "X").values);
    EXPECT_TRUE(back.obsm.contains("X_pca"));
    EXPECT_TRUE(back.uns.contains("keep"));
    EXPECT_EQ(std::get<StringArray>(back.uns.find("scx")->value).values.at(0), "provenance");

    const auto& depth = std::get<NdArray>(*back.obs.find("scx_depth"));
    ASSERT_EQ(depth.dtype, DType::float64);
    const auto& frac = std::get<NdArray>(*back.obs.find("scx_frac"));
    ASSERT_EQ(frac.dtype, DType::float32);
    const auto& branch = std::get<Categorical>(*back.obs.find("scx_branch"));
    EXPECT_EQ(std::get<StringArray>(branch.categories).values, (std::vector<std::string>{"lymphoid", "myeloid"}));
    EXPECT_FALSE(branch.ordered);
    const auto& z = std::get<NdArray>(back.obsm.find("X_scx")->value);
    ASSERT_EQ(z.shape, (std::vector<std::int64_t>{kCells, 3}));
    for (std::int64_t i = 0; i < kCells; ++i) {
        EXPECT_EQ(depth.at(i), 0.25 * static_cast<double>(i));
        EXPECT_EQ(frac.at(i), static_cast<double>(i) / 16.0);
        EXPECT_EQ(branch.codes.at_int(i), i % 3 == 2 ? -1 : i % 2);
        for (int c = 0; c < 3; ++c) EXPECT_EQ(z.data<float>()[i * 3 + c], static_cast<float>(10 * i + c));
    }
}

INSTANTIATE_TEST_SUITE_P(BlocksAndGzip, AnnotationWriter,
                         ::testing::Combine(::testing::Values<std::int64_t>(1, 4, kCells), ::testing::Values(0, 4)));

std::size_t files_in(const fs::path& dir) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
    return n;
}

TEST(AnnotationWriterErrors, NothingIsLeftWithoutCommit) {
    const TempDir dir;
    const auto in = (dir / "in.h5ad").string(), out = (dir / "out.h5ad").string();
    write_h5ad(input(), in);
    {
        H5adAnnotationWriter w(in, out);
        write_results(w, 4); // complete, but never committed
        EXPECT_EQ(files_in(dir.path()), 2u); // the input and the temporary copy
    }
    EXPECT_EQ(files_in(dir.path()), 1u);
    try {
        H5adAnnotationWriter w(in, out);
        w.add_obs_numeric("x");
        w.write_obs("x", 0, std::span<const double>(std::vector<double>(3, 1.0)));
        w.write_obs("x", 5, std::span<const double>(std::vector<double>(3, 1.0))); // a gap: rows 3-4 skipped
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("row order"), std::string::npos) << e.what();
    }
    EXPECT_EQ(files_in(dir.path()), 1u);
    {
        H5adAnnotationWriter w(in, out);
        w.add_obs_numeric("x");
        w.write_obs("x", 0, std::span<const double>(std::vector<double>(3, 1.0)));
        EXPECT_THROW(w.commit(), Error); // 3 of 11 rows
    }
    EXPECT_EQ(files_in(dir.path()), 1u);
    EXPECT_FALSE(fs::exists(out));
}

TEST(AnnotationWriterErrors, RefusesBadUse) {
    const TempDir dir;
    const auto in = (dir / "in.h5ad").string(), out = (dir / "out.h5ad").string();
    write_h5ad(input(), in);
    EXPECT_THROW({ H5adAnnotationWriter same(in, in); }, Error);
    EXPECT_THROW({ H5adAnnotationWriter absent((dir / "absent.h5ad").string(), out); }, Error);
    H5adAnnotationWriter w(in, out);
    EXPECT_THROW(w.add_obs_numeric("_index"), Error);            // the index name
    EXPECT_THROW(w.add_obs_numeric("n", DType::int64), Error);   // numeric columns are floats
    w.add_obs_categorical("c", {"a", "b"});
    EXPECT_THROW(w.add_obs_categorical("c", {"a"}), Error);      // declared twice
    Categorical other;
    other.codes = NdArray::from(std::vector<std::int32_t>(2, 0));
    other.categories = StringArray{{1}, {"z"}};
    EXPECT_THROW(w.write_obs("c", 0, other), Error);             // other categories
    EXPECT_THROW(w.write_obs("absent", 0, std::span<const double>()), Error);
    w.add_obsm("Z", 2);
    EXPECT_THROW(w.write_obsm("Z", 0, RowMatrixF::Zero(2, 3)), Error); // wrong width
    EXPECT_THROW(w.write_obsm("Z", 10, RowMatrixF::Zero(2, 2)), Error); // out of order
    EXPECT_FALSE(fs::exists(out));
}

} // namespace
} // namespace scx
