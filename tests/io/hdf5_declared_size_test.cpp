// Declared sizes against what an HDF5 file stores (issue 23, item 1): a dataset that declares
// far more than its storage could hold (chunks never written, a contiguous dataset past the
// end of the file) is refused before anything proportional to its shape is allocated, with one
// line naming the file and dataset. The files are made here with the HDF5 C API.
#include "scextract/core/error.hpp"
#include "scextract/core/memory.hpp"
#include "scextract/io/h5ad_reader.hpp"
#include "scextract/io/h5ad_writer.hpp"
#include "scextract/io/hdf5.hpp"
#include "scextract/io/tenx.hpp"

#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace scx {
namespace {

using h5::Handle;
using test::error_of;
using test::TempDir;

/// An h5ad of @p n_obs x @p n_vars with no X; the test adds its own.
std::string h5ad_without_x(const TempDir& dir, std::int64_t n_obs, std::int64_t n_vars) {
    AnnData ad;
    ad.n_obs = n_obs;
    ad.n_vars = n_vars;
    for (std::int64_t i = 0; i < n_obs; ++i) ad.obs.index.push_back("c" + std::to_string(i));
    for (std::int64_t j = 0; j < n_vars; ++j) ad.var.index.push_back("g" + std::to_string(j));
    const auto path = (dir / "in.h5ad").string();
    write_h5ad(ad, path, {.gzip_level = 0});
    return path;
}

/// Creates dataset @p name of @p dims and writes nothing: chunked + gzip (as anndata's
/// compression="gzip"), or contiguous with late allocation, so the file stays a few kB.
void declare(hid_t loc, const char* name, hid_t type, std::vector<hsize_t> dims, bool chunked) {
    Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
    Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
    if (chunked) {
        std::vector<hsize_t> chunk(dims.size(), 1);
        chunk.back() = std::min<hsize_t>(dims.back(), 4096);
        H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data());
        H5Pset_deflate(dcpl, 4);
    } else {
        H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_LATE);
    }
    Handle d(H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    ASSERT_TRUE(d.valid()) << h5::error_stack();
}

/// A 100,000 x 100,000 float64 dense X (80 GB) whose chunks were never written: consistent
/// shapes, a file of a few MB.
std::string huge_dense_x(const TempDir& dir, bool chunked) {
    const std::int64_t n = 100000;
    const auto path = h5ad_without_x(dir, n, n);
    Handle f(h5::open_file_rw(path));
    declare(f, "X", H5T_IEEE_F64LE, {static_cast<hsize_t>(n), static_cast<hsize_t>(n)}, chunked);
    return path;
}

TEST(Hdf5DeclaredSize, HugeDenseXWithUnwrittenChunksIsRefused) {
    TempDir dir;
    const auto path = huge_dense_x(dir, true);
    const std::string expected = path + ":/X: declares 80.0 GB but stores 0 bytes in the file (more than 1100:1 compression "
                                        "is not plausible); damaged or hostile file?";
    EXPECT_EQ(error_of([&] { read_h5ad(path); }), expected);
    EXPECT_EQ(error_of([&] { read_h5ad_matrix(path, {}); }), expected);
    EXPECT_EQ(error_of([&] { H5adRowReader reader(path, {}); }), expected); // streaming would not allocate it, but reads 80 GB of nothing
}

TEST(Hdf5DeclaredSize, ContiguousXLargerThanTheFileIsRefused) {
    TempDir dir;
    const auto path = huge_dense_x(dir, false);
    EXPECT_EQ(error_of([&] { read_h5ad(path); }),
              path + ":/X: declares 80.0 GB but stores 0 bytes in the file (an uncompressed dataset stores all of its "
                     "bytes); damaged or hostile file?");
}

TEST(Hdf5DeclaredSize, SparseXWithHugeUnwrittenDataIsRefused) {
    TempDir dir;
    const auto path = h5ad_without_x(dir, 3, 2);
    {
        Handle f(h5::open_file_rw(path));
        Handle x = h5::create_group(f, "X");
        h5::write_encoding(x, "csr_matrix", "0.1.0");
        h5::write_int_array_attr(x, "shape", {3, 2});
        declare(x, "data", H5T_IEEE_F32LE, {hsize_t{5000000000}}, true);
        declare(x, "indices", H5T_STD_I32LE, {hsize_t{5000000000}}, true);
        h5::write_ndarray(x, "indptr", NdArray::from(std::vector<std::int64_t>{0, 0, 0, 5000000000}), {.gzip_level = 0});
    }
    const auto msg = error_of([&] { read_h5ad(path); });
    EXPECT_EQ(msg, path + ":/X/data: declares 20.0 GB but stores 0 bytes in the file (more than 1100:1 compression is not "
                          "plausible); damaged or hostile file?");
    EXPECT_NE(error_of([&] { H5adRowReader reader(path, {}); }).find(path + ":/X/data: declares 20.0 GB"), std::string::npos);
}

TEST(Hdf5DeclaredSize, HugeUnsArrayIsRefused) {
    TempDir dir;
    const auto path = h5ad_without_x(dir, 3, 2);
    {
        Handle f(h5::open_file_rw(path));
        Handle uns = h5::link_exists(f, "uns") ? h5::open_group(f, "uns") : h5::create_group(f, "uns");
        declare(uns, "big", H5T_IEEE_F64LE, {hsize_t{1} << 40}, true);
    }
    EXPECT_NE(error_of([&] { read_h5ad(path); }).find(path + ":/uns/big: declares 8796.1 GB but stores 0 bytes"),
              std::string::npos);
}

TEST(Hdf5DeclaredSize, SmallFillValueDatasetsAreStillRead) {
    // Below kUncheckedDatasetBytes nothing is questioned: a small X never written reads as zeros.
    TempDir dir;
    const auto path = h5ad_without_x(dir, 100, 50);
    {
        Handle f(h5::open_file_rw(path));
        declare(f, "X", H5T_IEEE_F32LE, {100, 50}, true);
    }
    const auto ad = read_h5ad(path);
    ASSERT_TRUE(ad.X.has_value());
    EXPECT_EQ(std::get<NdArray>(*ad.X).size(), 5000);
}

TEST(Hdf5DeclaredSize, TenxH5WithHugeUnwrittenDataIsRefused) {
    TempDir dir;
    const auto path = (dir / "filtered_feature_bc_matrix.h5").string();
    {
        Handle f(h5::create_file(path));
        Handle g = h5::create_group(f, "matrix");
        declare(g, "data", H5T_STD_I32LE, {hsize_t{4000000000}}, true);
        declare(g, "indices", H5T_STD_I64LE, {hsize_t{4000000000}}, true);
        h5::write_ndarray(g, "indptr", NdArray::from(std::vector<std::int64_t>{0, 4000000000}), {.gzip_level = 0});
        h5::write_ndarray(g, "shape", NdArray::from(std::vector<std::int32_t>{1, 1}), {.gzip_level = 0});
        h5::write_strings(g, "barcodes", StringArray{{1}, {"AAAC-1"}}, {.gzip_level = 0});
        Handle feat = h5::create_group(g, "features");
        for (const char* field : {"id", "name", "feature_type", "genome"})
            h5::write_strings(feat, field, StringArray{{1}, {std::string(field) == "feature_type" ? "Gene Expression" : "x"}},
                              {.gzip_level = 0});
    }
    const auto msg = error_of([&] { read_10x_h5(path); });
    EXPECT_NE(msg.find(path + ":/matrix/data: declares 16.0 GB but stores 0 bytes"), std::string::npos) << msg;
}

// The fuzzer's find: a small dataset whose chunk declares gigabytes; libhdf5 allocates the
// whole chunk (4.3 GB there) to read any of it.
TEST(Hdf5DeclaredSize, ChunkLargerThanTheDatasetIsRefused) {
    TempDir dir;
    const auto path = h5ad_without_x(dir, 3, 2);
    {
        Handle f(h5::open_file_rw(path));
        const hsize_t dims[2] = {3, 2}, maxdims[2] = {H5S_UNLIMITED, H5S_UNLIMITED}, chunk[2] = {1u << 20, 64};
        Handle space(H5Screate_simple(2, dims, maxdims));
        Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
        ASSERT_GE(H5Pset_chunk(dcpl, 2, chunk), 0); // 1 Mi x 64 float64: a 512 MiB chunk for 6 values
        Handle d(H5Dcreate2(f, "X", H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
        ASSERT_TRUE(d.valid()) << h5::error_stack();
    }
    const auto msg = error_of([&] { read_h5ad(path); });
    EXPECT_EQ(msg.rfind(path + ":/X: a chunk of 536.9 MB is larger than the whole dataset (48 bytes)", 0), 0U) << msg;
}

TEST(Hdf5DeclaredSize, MoreThanPhysicalMemoryIsRefused) {
    const auto phys = physical_memory_bytes();
    ASSERT_GT(phys, 0U);
    EXPECT_NO_THROW(check_fits_in_memory(phys / 2, "x.h5ad:/X"));
    const auto msg = error_of([&] { check_fits_in_memory(checked_bytes(UINT64_MAX / 2, 8), "x.h5ad:/X"); });
    EXPECT_EQ(msg.rfind("x.h5ad:/X would need 18446744073.7 GB in memory, more than this machine's ", 0), 0U) << msg;
    EXPECT_EQ(checked_bytes(std::uint64_t{1} << 40, std::uint64_t{1} << 40), UINT64_MAX);
}

} // namespace
} // namespace scx

namespace scx {
namespace {

// A chunk of one element over a million-element extent (fuzzer finding in spirit: libhdf5 sets
// up every chunk a read touches, some 400 bytes each, written or not). The declared size stays
// under kUncheckedDatasetBytes, so only the chunk count gives it away.
TEST(Hdf5DeclaredSize, MoreChunksThanTheFileCouldHoldIsRefused) {
    TempDir dir;
    const auto path = (dir / "chunks.h5").string();
    {
        Handle f(h5::create_file(path));
        const hsize_t n = 1000000, one = 1;
        Handle space(H5Screate_simple(1, &n, nullptr));
        Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
        H5Pset_chunk(dcpl, 1, &one);
        Handle d(H5Dcreate2(f, "codes", H5T_NATIVE_UINT8, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
        ASSERT_TRUE(d.valid());
    }
    Handle f = h5::open_file_read(path);
    const auto msg = error_of([&] { (void)h5::read_ndarray(h5::open_dataset(f, "codes")); });
    EXPECT_EQ(msg.rfind(path + ":/codes: is split into 1000000 chunks, more than a file of ", 0), 0U) << msg;
    EXPECT_NE(msg.find("could hold; damaged or hostile file?"), std::string::npos) << msg;
}

} // namespace
} // namespace scx

namespace scx {
namespace {

// A sparse X whose shape is (INT64_MAX, 3) (h5ad fuzzer finding under UBSan: shape + 1
// overflowed when the reader sized indptr): refused with the shape named.
TEST(Hdf5DeclaredSize, SparseShapeAtTheLimitOfInt64IsRefused) {
    TempDir dir;
    const auto path = h5ad_without_x(dir, 3, 2);
    {
        Handle f(h5::open_file_rw(path));
        Handle x = h5::create_group(f, "X");
        h5::write_encoding(x, "csr_matrix", "0.1.0");
        h5::write_int_array_attr(x, "shape", {std::numeric_limits<std::int64_t>::max(), 2});
        declare(x, "data", H5T_IEEE_F32LE, {1}, false);
        declare(x, "indices", H5T_STD_I32LE, {1}, false);
        declare(x, "indptr", H5T_STD_I32LE, {4}, false);
    }
    EXPECT_EQ(error_of([&] { read_h5ad(path); }), path + ":/X: sparse shape (9223372036854775807, 2) is not a matrix's");
}

} // namespace
} // namespace scx
