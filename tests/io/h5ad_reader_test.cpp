// Hostile group structures in an h5ad (issue 23, item 1): hard-link cycles, groups shared
// through hard links and nesting deep enough to overflow a recursive reader. Every file is
// made here with the HDF5 C API on top of a small h5ad from our own writer.
#include "scextract/core/error.hpp"
#include "scextract/io/h5ad_reader.hpp"
#include "scextract/io/h5ad_writer.hpp"

#include "../support/temp_dir.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <hdf5.h>

#include <string>

namespace scx {
namespace {

using test::TempDir;

std::string small_h5ad(const TempDir& dir) {
    AnnData ad;
    ad.n_obs = 3;
    ad.n_vars = 2;
    ad.X = NdArray::from(std::vector<float>{1, 0, 2, 0, 3, 4});
    std::get<NdArray>(*ad.X).shape = {3, 2};
    ad.obs.index = {"c0", "c1", "c2"};
    ad.var.index = {"G0", "G1"};
    const auto path = (dir / "in.h5ad").string();
    write_h5ad(ad, path, {.gzip_level = 0});
    return path;
}

/// Opens @p path read-write and returns the id of its uns group (created when absent).
struct Uns {
    explicit Uns(const std::string& path) {
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
        file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
        EXPECT_GE(file, 0);
        uns = H5Lexists(file, "uns", H5P_DEFAULT) > 0 ? H5Gopen2(file, "uns", H5P_DEFAULT)
                                                      : H5Gcreate2(file, "uns", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        EXPECT_GE(uns, 0);
    }
    ~Uns() {
        H5Gclose(uns);
        H5Fclose(file);
    }
    Uns(const Uns&) = delete;
    Uns& operator=(const Uns&) = delete;
    hid_t file = -1, uns = -1;
};

hid_t make_group(hid_t loc, const char* name) {
    const hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    EXPECT_GE(g, 0) << name;
    return g;
}

std::string read_error(const std::string& path) {
    try {
        read_h5ad(path);
    } catch (const Error& e) {
        return e.what();
    }
    ADD_FAILURE() << path << " was read without an error";
    return {};
}

TEST(H5adReaderBounds, HardLinkCycleInUnsIsRefused) {
    TempDir dir;
    const auto path = small_h5ad(dir);
    {
        Uns f(path);
        const hid_t a = make_group(f.uns, "a");
        const hid_t b = make_group(a, "b");
        ASSERT_GE(H5Lcreate_hard(f.file, "/uns/a", b, "back", H5P_DEFAULT, H5P_DEFAULT), 0); // /uns/a/b/back -> /uns/a
        H5Gclose(b);
        H5Gclose(a);
    }
    const auto msg = read_error(path);
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("/uns/a/b/back"), std::string::npos) << msg;
    EXPECT_NE(msg.find("hard-link cycle"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST(H5adReaderBounds, GroupLinkedToItselfIsRefused) {
    TempDir dir;
    const auto path = small_h5ad(dir);
    {
        Uns f(path);
        ASSERT_GE(H5Lcreate_hard(f.file, "/uns", f.uns, "self", H5P_DEFAULT, H5P_DEFAULT), 0);
    }
    const auto msg = read_error(path);
    EXPECT_NE(msg.find(path + ":/uns/self"), std::string::npos) << msg;
    EXPECT_NE(msg.find("hard-link cycle"), std::string::npos) << msg;
}

TEST(H5adReaderBounds, SharedGroupIsRefused) {
    // A diamond of shared groups doubles the work per level (2^depth reads) without a cycle.
    TempDir dir;
    const auto path = small_h5ad(dir);
    {
        Uns f(path);
        H5Gclose(make_group(f.uns, "x"));
        ASSERT_GE(H5Lcreate_hard(f.uns, "x", f.uns, "y", H5P_DEFAULT, H5P_DEFAULT), 0);
    }
    const auto msg = read_error(path);
    EXPECT_NE(msg.find(path + ":/uns/y"), std::string::npos) << msg;
    EXPECT_NE(msg.find("is also /uns/x"), std::string::npos) << msg;
}

TEST(H5adReaderBounds, TwentyThousandNestedGroupsAreRefused) {
    TempDir dir;
    const auto path = small_h5ad(dir);
    {
        Uns f(path);
        hid_t g = H5Gopen2(f.uns, ".", H5P_DEFAULT);
        for (int i = 0; i < 20000; ++i) {
            const hid_t child = make_group(g, "d");
            H5Gclose(g);
            g = child;
        }
        H5Gclose(g);
    }
    const auto msg = read_error(path);
    EXPECT_NE(msg.find(path + ":/uns/d/d/d"), std::string::npos) << msg.substr(0, 300);
    EXPECT_NE(msg.find(fmt::format("nested more than {} deep", kH5adMaxGroupDepth)), std::string::npos) << msg.substr(0, 300);
}

TEST(H5adReaderBounds, NestingWithinTheLimitIsRead) {
    TempDir dir;
    const auto path = small_h5ad(dir);
    const int levels = kH5adMaxGroupDepth - 2; // uns itself is one level
    {
        Uns f(path);
        hid_t g = H5Gopen2(f.uns, ".", H5P_DEFAULT);
        for (int i = 0; i < levels; ++i) {
            const hid_t child = make_group(g, "d");
            H5Gclose(g);
            g = child;
        }
        H5Gclose(g);
    }
    const auto ad = read_h5ad(path);
    const Mapping* m = &ad.uns;
    int seen = 0;
    while (const auto* e = m->find("d")) {
        m = &std::get<Mapping>(e->value);
        ++seen;
    }
    EXPECT_EQ(seen, levels);
}

} // namespace
} // namespace scx
