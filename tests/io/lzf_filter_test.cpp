// The LZF decoder is strict about length (issue 23, item 2): a chunk that decodes to fewer
// bytes than the chunk holds is an error, never uninitialised heap in the data. The chunks
// are made by hand here (LZF literal runs) and stored with H5Dwrite_chunk.
#include "scextract/core/error.hpp"
#include "scextract/io/h5ad_reader.hpp"
#include "scextract/io/h5ad_writer.hpp"
#include "scextract/io/hdf5.hpp"
#include "scextract/io/lzf_filter.hpp"

#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstring>
#include <string>
#include <vector>

namespace scx {
namespace {

using test::TempDir;

/// An LZF stream of one literal run: control byte (length - 1), then the bytes.
std::vector<unsigned char> lzf_literal(const std::vector<float>& values) {
    std::vector<unsigned char> out(1 + values.size() * sizeof(float));
    out[0] = static_cast<unsigned char>(values.size() * sizeof(float) - 1);
    std::memcpy(out.data() + 1, values.data(), values.size() * sizeof(float));
    return out;
}

/// An h5ad whose X (2 x 4 float32, one chunk) is stored as the LZF stream @p chunk.
std::string h5ad_with_lzf_x(const TempDir& dir, const std::vector<unsigned char>& chunk) {
    AnnData ad;
    ad.n_obs = 2;
    ad.n_vars = 4;
    ad.obs.index = {"c0", "c1"};
    ad.var.index = {"G0", "G1", "G2", "G3"};
    const auto path = (dir / "lzf.h5ad").string();
    write_h5ad(ad, path, {.gzip_level = 0});
    // HDF5 refuses to create a dataset naming a filter it has only a decoder for, but accepts
    // an optional filter it does not know; the decoder comes back once the file is written.
    h5::init_hdf5();
    H5Zunregister(h5::lzf_filter_id);
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    EXPECT_GE(f, 0);
    const hsize_t dims[2] = {2, 4};
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, dims);
    const unsigned cd[3] = {4, 0, 2 * 4 * sizeof(float)}; // h5py's: filter version, LZF version, chunk bytes
    EXPECT_GE(H5Pset_filter(dcpl, h5::lzf_filter_id, H5Z_FLAG_OPTIONAL, 3, cd), 0);
    const hid_t d = H5Dcreate2(f, "X", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    EXPECT_GE(d, 0) << h5::error_stack();
    const hsize_t origin[2] = {0, 0};
    EXPECT_GE(H5Dwrite_chunk(d, H5P_DEFAULT, 0, origin, chunk.size(), chunk.data()), 0);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Fclose(f);
    h5::register_lzf_filter();
    return path;
}

TEST(LzfFilter, WholeChunkDecodes) {
    TempDir dir;
    const std::vector<float> x{1, 2, 3, 4, 5, 6, 7, 8};
    const auto ad = read_h5ad(h5ad_with_lzf_x(dir, lzf_literal(x)));
    ASSERT_TRUE(ad.X.has_value());
    const auto& X = std::get<NdArray>(*ad.X);
    ASSERT_EQ(X.size(), 8);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(X.at(i), x[static_cast<std::size_t>(i)]);
}

TEST(LzfFilter, ShortChunkIsAnError) {
    TempDir dir;
    const auto path = h5ad_with_lzf_x(dir, lzf_literal({1, 2, 3, 4})); // 16 of the chunk's 32 bytes
    try {
        read_h5ad(path);
        FAIL() << "a short LZF chunk was accepted";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(path + ":/X"), std::string::npos) << msg;
        EXPECT_NE(msg.find("LZF chunk decodes to 16 bytes but the chunk holds 32"), std::string::npos) << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
}

TEST(LzfFilter, GarbageChunkIsAnError) {
    TempDir dir;
    const auto path = h5ad_with_lzf_x(dir, {0x1f, 1, 2}); // a literal run of 32 bytes with 2 present
    try {
        read_h5ad(path);
        FAIL() << "an undecodable LZF chunk was accepted";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(path + ":/X"), std::string::npos) << msg;
        EXPECT_NE(msg.find("does not decode"), std::string::npos) << msg;
    }
}

} // namespace
} // namespace scx
