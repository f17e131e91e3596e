// Data in other files (issue 23): external storage, virtual datasets and external links make
// libhdf5 read whatever paths the file names, so h5::open_dataset, open_group and the lookups
// refuse them, naming the object. The files, and the data file they point at, are written here.
#include "scextract/core/error.hpp"
#include "scextract/io/hdf5.hpp"

#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace scx {
namespace {

using h5::Handle;
using test::TempDir;

std::string open_error(const std::string& path, const std::string& name) {
    try {
        Handle f = h5::open_file_read(path);
        (void)h5::open_dataset(f, name);
        return "";
    } catch (const Error& e) {
        return e.what();
    }
}

TEST(Hdf5ExternalStorage, ExternalRawDataFileIsRefused) {
    TempDir dir;
    const auto raw = (dir / "elsewhere.bin").string();
    std::ofstream(raw, std::ios::binary) << std::string(32, '\x01');
    const auto path = (dir / "external.h5ad").string();
    {
        Handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
        Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
        ASSERT_GE(H5Pset_external(dcpl, raw.c_str(), 0, 32), 0);
        const hsize_t n = 8;
        Handle space(H5Screate_simple(1, &n, nullptr));
        Handle d(H5Dcreate2(f, "X", H5T_NATIVE_FLOAT, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
        ASSERT_TRUE(d.valid());
    }
    EXPECT_EQ(open_error(path, "X"), path + ":/X: keeps its data in external files, which scextract does not follow");
}

TEST(Hdf5ExternalStorage, VirtualDatasetIsRefused) {
    TempDir dir;
    const auto source = (dir / "source.h5").string();
    const hsize_t n = 8;
    {
        Handle f(H5Fcreate(source.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
        Handle space(H5Screate_simple(1, &n, nullptr));
        Handle d(H5Dcreate2(f, "data", H5T_NATIVE_FLOAT, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    }
    const auto path = (dir / "virtual.h5ad").string();
    {
        Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
        H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
        Handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl));
        Handle space(H5Screate_simple(1, &n, nullptr));
        Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
        ASSERT_GE(H5Pset_virtual(dcpl, space, source.c_str(), "data", space), 0);
        Handle d(H5Dcreate2(f, "X", H5T_NATIVE_FLOAT, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
        ASSERT_TRUE(d.valid());
    }
    EXPECT_EQ(open_error(path, "X"),
              path + ":/X: is a virtual dataset (its data lives in other files), which scextract does not follow");
}

TEST(Hdf5ExternalStorage, ExternalLinkIsNotFollowed) {
    TempDir dir;
    const auto other = (dir / "other.h5").string();
    {
        Handle f(H5Fcreate(other.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
        Handle g(H5Gcreate2(f, "obs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    }
    const auto path = (dir / "linking.h5ad").string();
    {
        Handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
        ASSERT_GE(H5Lcreate_external(other.c_str(), "/obs", f, "obs", H5P_DEFAULT, H5P_DEFAULT), 0);
    }
    Handle f = h5::open_file_read(path);
    const std::string expected = path + ":/obs: is a link to another file, which scextract does not follow";
    try {
        (void)h5::open_group(f, "obs");
        ADD_FAILURE() << "opened";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), expected);
    }
    try {
        (void)h5::is_group(f, "obs");
        ADD_FAILURE() << "looked up";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), expected);
    }
}

TEST(Hdf5ExternalStorage, OrdinaryDatasetOpens) {
    TempDir dir;
    const auto path = (dir / "plain.h5ad").string();
    {
        Handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
        const hsize_t n = 8;
        Handle space(H5Screate_simple(1, &n, nullptr));
        Handle d(H5Dcreate2(f, "X", H5T_NATIVE_FLOAT, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    }
    EXPECT_EQ(open_error(path, "X"), "");
}

} // namespace
} // namespace scx
