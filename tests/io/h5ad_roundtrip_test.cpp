// Writer -> reader round trips of every element kind, chunked row access, and
// copy-with-additions. Interop with the real anndata is checked in tests/interop.
#include "scextract/core/error.hpp"
#include "scextract/io/h5ad_reader.hpp"
#include "scextract/io/h5ad_writer.hpp"
#include "scextract/io/hdf5.hpp"

#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <utility>
#include <vector>

namespace scx {
namespace {

namespace fs = std::filesystem;

using test::TempDir;

CsrMatrix toy_counts(std::int64_t rows, std::int64_t cols) {
    std::vector<float> dense(static_cast<std::size_t>(rows * cols));
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < cols; ++c)
            dense[r * cols + c] = static_cast<float>((r * 7 + c * 3) % 5 == 0 ? r + c : 0);
    return csr_from_dense(dense, rows, cols);
}

AnnData toy(std::int64_t n_obs = 9, std::int64_t n_vars = 6) {
    AnnData ad;
    ad.n_obs = n_obs;
    ad.n_vars = n_vars;
    ad.X = from_csr(toy_counts(n_obs, n_vars));
    for (std::int64_t i = 0; i < n_obs; ++i) ad.obs.index.push_back("cell" + std::to_string(i));
    for (std::int64_t j = 0; j < n_vars; ++j) ad.var.index.push_back("GENE" + std::to_string(j));
    Categorical ct;
    std::vector<std::int8_t> codes;
    for (std::int64_t i = 0; i < n_obs; ++i) codes.push_back(static_cast<std::int8_t>(i % 3 == 2 ? -1 : i % 2));
    ct.codes = NdArray::from(codes);
    ct.categories = StringArray{{2}, {"B", "T"}};
    ad.obs.set("cell_type", ct);
    std::vector<double> depth;
    std::vector<bool> flag;
    for (std::int64_t i = 0; i < n_obs; ++i) {
        depth.push_back(0.5 * static_cast<double>(i));
        flag.push_back(i % 2 == 0);
    }
    ad.obs.set("depth", NdArray::from(depth));
    ad.obs.set("flag", NdArray::from(flag));
    NullableArray ni;
    ni.kind = NullableArray::Kind::integer;
    std::vector<std::int64_t> vals(static_cast<std::size_t>(n_obs), 3);
    ni.values = NdArray::from(vals);
    ni.mask.assign(static_cast<std::size_t>(n_obs), 0);
    ni.mask[1] = 1;
    ad.obs.set("maybe", ni);
    StringArray sym{{n_vars}, {}};
    for (std::int64_t j = 0; j < n_vars; ++j) sym.values.push_back("ENSG0000" + std::to_string(j));
    ad.var.set("gene_ids", sym);
    std::vector<float> pca(static_cast<std::size_t>(n_obs * 2));
    for (std::size_t i = 0; i < pca.size(); ++i) pca[i] = static_cast<float>(i) * 0.25f;
    ad.obsm.set("X_pca", Element{NdArray::from(pca, {n_obs, 2})});
    Mapping inner;
    inner.set("n", Element{NdArray::scalar<std::int64_t>(7)});
    inner.set("name", Element{StringArray{{}, {"scextract"}}});
    ad.uns.set("params", Element{inner});
    ad.uns.set("labels", Element{StringArray{{2}, {"a", "b"}}});
    std::vector<std::int32_t> dense_layer(static_cast<std::size_t>(n_obs * n_vars), 1);
    ad.layers.set("ones", Element{NdArray::from(dense_layer, {n_obs, n_vars})});
    return ad;
}

TEST(H5adRoundTrip, EveryElementKindSurvives) {
    const TempDir dir;
    const auto path = (dir / "toy.h5ad").string();
    const auto ad = toy();
    write_h5ad(ad, path);
    const auto back = read_h5ad(path);
    EXPECT_EQ(back.layout, H5adLayout::modern);
    EXPECT_EQ(back.n_obs, ad.n_obs);
    EXPECT_EQ(back.n_vars, ad.n_vars);
    EXPECT_EQ(back.obs.index, ad.obs.index);
    EXPECT_EQ(back.var.index, ad.var.index);
    const auto x0 = to_csr_f32(*ad.X, "a"), x1 = to_csr_f32(*back.X, "b");
    EXPECT_EQ(x1.values, x0.values);
    EXPECT_EQ(x1.indices, x0.indices);
    EXPECT_EQ(x1.indptr, x0.indptr);
    ASSERT_EQ(back.obs.columns.size(), 4u);
    EXPECT_EQ(column_kind(back.obs.columns[0].second), "categorical");
    EXPECT_EQ(column_kind(back.obs.columns[1].second), "numeric");
    EXPECT_EQ(column_kind(back.obs.columns[2].second), "bool");
    EXPECT_EQ(column_kind(back.obs.columns[3].second), "nullable-integer");
    const auto labels = column_as_strings(back.obs.columns[0].second, "cell_type");
    EXPECT_EQ(labels[0], "B");
    EXPECT_EQ(labels[1], "T");
    EXPECT_EQ(labels[2], ""); // code -1 = missing
    EXPECT_EQ(std::get<NullableArray>(back.obs.columns[3].second).mask[1], 1);
    const auto& pca = std::get<NdArray>(back.obsm.find("X_pca")->value);
    EXPECT_EQ(pca.shape, (std::vector<std::int64_t>{9, 2}));
    EXPECT_FLOAT_EQ(static_cast<float>(pca.at(5)), 1.25f);
    const auto& params = std::get<Mapping>(back.uns.find("params")->value);
    EXPECT_EQ(std::get<NdArray>(params.find("n")->value).at_int(0), 7);
    EXPECT_TRUE(std::get<NdArray>(params.find("n")->value).shape.empty());
    EXPECT_EQ(std::get<StringArray>(params.find("name")->value).values.at(0), "scextract");
    EXPECT_EQ(std::get<NdArray>(back.layers.find("ones")->value).dtype, DType::int32);
}

// The in-memory entry point the h5ad fuzz target uses (tests/fuzz/h5ad_fuzz.cpp) reads what
// the file reader reads, and refuses a non-HDF5 image with one scx::Error naming it.
TEST(H5adImage, InMemoryImageReadsLikeTheFile) {
    const TempDir dir;
    const auto path = (dir / "toy.h5ad").string();
    write_h5ad(toy(), path);
    std::ifstream in(path, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto image = std::as_bytes(std::span(bytes));
    const auto a = read_h5ad(path), b = read_h5ad_image(image, "image.h5ad");
    EXPECT_EQ(b.n_obs, a.n_obs);
    EXPECT_EQ(b.n_vars, a.n_vars);
    EXPECT_EQ(b.obs.index, a.obs.index);
    EXPECT_EQ(b.var.index, a.var.index);
    EXPECT_EQ(to_csr_f32(*b.X, "b").values, to_csr_f32(*a.X, "a").values);
    EXPECT_EQ(b.uns.items.size(), a.uns.items.size());

    const std::string text = "not an hdf5 file\n";
    try {
        read_h5ad_image(std::as_bytes(std::span(text)), "notes.h5ad");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("notes.h5ad: ", 0), 0u) << e.what();
    }
    EXPECT_THROW(read_h5ad_image({}, "empty.h5ad"), Error);
}

class ChunkSizes : public ::testing::TestWithParam<int> {};

TEST_P(ChunkSizes, RowReaderMatchesWholeRead) {
    const TempDir dir;
    const auto path = (dir / "toy.h5ad").string();
    auto ad = toy(101, 13);
    write_h5ad(ad, path);
    const auto whole = read_h5ad_matrix(path, {});
    H5adRowReader reader(path, {});
    EXPECT_EQ(reader.n_rows(), 101);
    std::vector<CsrMatrix> blocks;
    for (std::int64_t b = 0; b < reader.n_rows(); b += GetParam())
        blocks.push_back(reader.read_rows(b, std::min<std::int64_t>(reader.n_rows(), b + GetParam())));
    const auto stacked = vstack(blocks);
    EXPECT_EQ(stacked.values, whole.values);
    EXPECT_EQ(stacked.indices, whole.indices);
    EXPECT_EQ(stacked.indptr, whole.indptr);
    // the dense layer streams the same way
    H5adRowReader dense(path, {.layer = "ones", .use_raw = false});
    const auto block = dense.read_rows(10, 12);
    EXPECT_EQ(block.nnz(), 2 * 13);
}

INSTANTIATE_TEST_SUITE_P(Blocks, ChunkSizes, ::testing::Values(1, 7, 64, 1000));

TEST(H5adAdditions, CopyKeepsEverythingAndAddsResults) {
    const TempDir dir;
    const auto in = (dir / "in.h5ad").string(), out = (dir / "out.h5ad").string();
    write_h5ad(toy(), in);
    const auto before = fs::file_size(in);
    H5adAdditions add;
    std::vector<float> score(9, 0.5f);
    add.obs_columns.emplace_back("scx_depth", NdArray::from(score));
    add.obs_columns.emplace_back("depth", NdArray::from(score)); // replaces an existing column
    std::vector<float> latent(18, 1.0f);
    add.obsm.set("X_scx", Element{NdArray::from(latent, {9, 2})});
    add.uns.set("scx", Element{StringArray{{}, {"provenance"}}});
    write_h5ad_with_additions(in, out, add);
    EXPECT_EQ(fs::file_size(in), before);
    const auto back = read_h5ad(out);
    ASSERT_EQ(back.obs.columns.size(), 5u);
    EXPECT_EQ(back.obs.columns.back().first, "scx_depth");
    EXPECT_EQ(std::get<NdArray>(*back.obs.find("depth")).at(3), 0.5);
    EXPECT_TRUE(back.obsm.contains("X_pca"));
    EXPECT_TRUE(back.obsm.contains("X_scx"));
    EXPECT_TRUE(back.uns.contains("params"));
    EXPECT_TRUE(back.layers.contains("ones"));
    EXPECT_THROW(write_h5ad_with_additions(in, in, add), Error);
    // wrong length: error, and no output or temporary file left behind
    H5adAdditions bad;
    bad.obs_columns.emplace_back("short", NdArray::from(std::vector<float>(3, 1.0f)));
    const auto out2 = (dir / "out2.h5ad").string();
    EXPECT_THROW(write_h5ad_with_additions(in, out2, bad), Error);
    EXPECT_FALSE(fs::exists(out2));
    std::size_t n_files = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++n_files;
    EXPECT_EQ(n_files, 2u); // in.h5ad, out.h5ad
}

TEST(H5adErrors, NotHdf5AndMissingFileAreNamed) {
    const TempDir dir;
    const auto text = (dir / "notes.h5ad").string();
    std::ofstream(text) << "not an hdf5 file\n";
    try {
        read_h5ad(text);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("notes.h5ad"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("not an HDF5 file"), std::string::npos);
    }
    EXPECT_THROW(read_h5ad((dir / "absent.h5ad").string()), Error);
}

TEST(H5adErrors, FailedWriteLeavesNoFile) {
    const TempDir dir;
    auto ad = toy();
    ad.obs.index.pop_back(); // obs no longer matches n_obs
    const auto path = (dir / "bad.h5ad").string();
    EXPECT_THROW(write_h5ad(ad, path), Error);
    EXPECT_TRUE(fs::is_empty(dir.path()));
}

} // namespace
} // namespace scx

namespace scx {
namespace {

/// Writes a @p rows x @p cols h5ad of pseudo-random counts (about 31% stored, 1..max_count)
/// large enough for the reader's parallel-inflate path; returns X dense.
std::vector<float> write_random_counts(const std::string& path, std::int64_t rows, std::int64_t cols, std::uint32_t seed,
                                       std::uint32_t max_count) {
    std::vector<float> dense(static_cast<std::size_t>(rows * cols), 0.0f);
    std::uint32_t state = seed;
    for (auto& v : dense) {
        state = state * 1664525u + 1013904223u;
        if ((state >> 24) < 80) v = static_cast<float>(1 + (state >> 8) % max_count);
    }
    AnnData ad;
    ad.n_obs = rows;
    ad.n_vars = cols;
    ad.X = from_csr(csr_from_dense(dense, rows, cols));
    for (std::int64_t i = 0; i < rows; ++i) ad.obs.index.push_back(fmt::format("c{}", i));
    for (std::int64_t j = 0; j < cols; ++j) ad.var.index.push_back(fmt::format("g{}", j));
    write_h5ad(ad, path);
    return dense;
}

// Large gzip-compressed datasets take the parallel-inflate path of the reader;
// small row blocks take HDF5's own path. Both must give the same bits.
TEST(H5adLargeRead, ParallelInflateMatchesPlainRead) {
    const TempDir dir;
    const auto path = (dir / "large.h5ad").string();
    const std::int64_t rows = 3001;
    const auto dense = write_random_counts(path, rows, 400, 12345, 37);
    const auto whole = read_h5ad_matrix(path, {});
    ASSERT_GT(whole.nnz(), std::int64_t{1} << 18); // large enough for the fast path
    H5adRowReader reader(path, {});
    std::vector<CsrMatrix> blocks;
    for (std::int64_t b = 0; b < rows; b += 97) blocks.push_back(reader.read_rows(b, std::min(rows, b + 97)));
    const auto stacked = vstack(blocks);
    EXPECT_EQ(whole.values, stacked.values);
    EXPECT_EQ(whole.indices, stacked.indices);
    EXPECT_EQ(whole.indptr, stacked.indptr);
    EXPECT_EQ(to_dense(whole), dense);
}

// Streamed reads pass one block back again and again (apply alternates two): large blocks
// inflate whole chunks straight into the reused buffers and partial ones through scratch and
// the chunk cache, small ones take HDF5's path. Growing, shrinking and mixing them must give
// the bits of a whole read.
TEST(H5adLargeRead, ReadRowsIntoAReusedBlockMatchesAWholeRead) {
    const TempDir dir;
    const auto path = (dir / "reused.h5ad").string();
    const auto dense = write_random_counts(path, 9001, 400, 777, 53);
    const auto whole = read_h5ad_matrix(path, {});
    H5adRowReader reader(path, {});
    CsrMatrix block;
    std::vector<CsrMatrix> blocks;
    // 2,500 rows hold about 390k values (the fast path starts at 2^18), 100 rows about 16k
    for (const auto& [b, e] : std::vector<std::pair<std::int64_t, std::int64_t>>{
             {0, 2500}, {2500, 2600}, {2600, 6100}, {6100, 8200}, {8200, 8300}, {8300, 9001}}) {
        reader.read_rows_into(b, e, block);
        EXPECT_EQ(block.n_rows, e - b);
        blocks.push_back(block);
    }
    EXPECT_GT(blocks[2].nnz(), std::int64_t{1} << 18);
    const auto stacked = vstack(blocks);
    EXPECT_EQ(whole.values, stacked.values);
    EXPECT_EQ(whole.indices, stacked.indices);
    EXPECT_EQ(whole.indptr, stacked.indptr);
    EXPECT_EQ(to_dense(whole), dense);
}

// A damaged deflate stream inside a chunk of the parallel path is one clear error naming the
// file, the dataset and the chunk, not garbage values.
TEST(H5adLargeRead, DamagedChunkIsRefused) {
    const TempDir dir;
    const auto path = (dir / "damaged.h5ad").string();
    write_random_counts(path, 3001, 400, 4242, 37);
    haddr_t address = 0;
    hsize_t size = 0;
    {
        h5::Handle f = h5::open_file_read(path);
        h5::Handle d = h5::open_dataset(f, "X/data");
        h5::Handle dcpl(H5Dget_create_plist(d));
        hsize_t coord = 0; // the second chunk
        ASSERT_EQ(H5Pget_chunk(dcpl, 1, &coord), 1);
        unsigned mask = 0;
        ASSERT_GE(H5Dget_chunk_info_by_coord(d, &coord, &mask, &address, &size), 0);
        ASSERT_GT(size, 64u);
    }
    {
        std::fstream io(path, std::ios::in | std::ios::out | std::ios::binary);
        io.seekp(static_cast<std::streamoff>(address + size / 2));
        const std::string junk(32, '\xff');
        io.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    }
    const std::string msg = test::error_of([&] { (void)read_h5ad_matrix(path, {}); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("/X/data: chunk 1 does not inflate ("), std::string::npos) << msg; // what libdeflate saw depends on the bytes
    EXPECT_NE(msg.find("): damaged file?"), std::string::npos) << msg;
}

} // namespace
} // namespace scx
