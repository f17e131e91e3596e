// An old-style group's B-tree and its symbol-table nodes ("SNOD"), which libhdf5 1.10 reads to
// find a link by name (issue 23, item 5): it decodes as many entries as a node says into an
// array with room for 2K, and takes names from the group's local heap at the offsets the tree
// and the nodes give. The walk (io/hdf5_structure_check.cpp, check_group_tree) refuses nodes out of level or
// reached twice, a node of more entries than the file's nodes hold, and names outside the heap.
// The root group is checked before the file opens; files are written with the HDF5 C API
// (superblock version 0, as h5py writes) and damaged here.
#include "scextract/core/error.hpp"
#include "scextract/io/hdf5.hpp"

#include "../support/file_bytes.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace scx {
namespace {

using h5::Handle;
using test::le_at;
using test::put_le;
using test::slurp;
using test::spit;
using test::TempDir;

// B-tree node: "TREE", type, level, entries (2), two siblings; then key 0, child 0, key 1, ...
// (8-byte heap offsets and addresses). SNOD: "SNOD", version 1, reserved, symbols (2); then per
// symbol 40 bytes: name offset, object header, cache type, reserved, scratch.
constexpr std::size_t kNodeHead = 24, kSymbol = 40;

class GroupTree : public ::testing::Test {
protected:
    void SetUp() override {
        path_ = (dir_ / "groups.h5").string();
        {
            Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
            H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST);
            Handle f(H5Fcreate(path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl));
            for (const char* name : {"obs", "var", "layers"}) Handle g(H5Gcreate2(f, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
        }
        good_ = slurp(path_);
        tree_ = good_.find("TREE");
        snod_ = good_.find("SNOD");
        heap_ = good_.find("HEAP");
        ASSERT_NE(tree_, std::string::npos);
        ASSERT_NE(snod_, std::string::npos);
        ASSERT_EQ(good_[tree_ + 4], 0); // a group's tree
        ASSERT_EQ(good_[tree_ + 5], 0); // one leaf
        ASSERT_EQ(le_at(good_, tree_ + kNodeHead + 8, 8), snod_);
        ASSERT_EQ(le_at(good_, snod_ + 6, 2), 3U);
        ASSERT_EQ(le_at(good_, 16, 2), 4U); // leaf K in the superblock: nodes of 8 symbols
        ASSERT_EQ(outcome(good_), "");
    }

    /// Opens the damaged file and looks each group up: "" when all are there, the error otherwise.
    std::string outcome(const std::string& bytes) const {
        spit(path_, bytes);
        try {
            Handle f = h5::open_file_read(path_);
            for (const char* name : {"obs", "var", "layers"})
                if (!h5::is_group(f, name)) return std::string("no ") + name;
            return "";
        } catch (const Error& e) {
            return e.what();
        }
    }
    [[nodiscard]] std::string refusal(const std::string& why) const { return path_ + ": " + why + " (damaged file?)"; }

    TempDir dir_;
    std::string path_, good_;
    std::size_t tree_ = 0, snod_ = 0, heap_ = 0;
};

TEST_F(GroupTree, NodeOfMoreSymbolsThanNodesHoldIsRefused) {
    auto bytes = good_;
    put_le(bytes, snod_ + 6, 9, 2);
    EXPECT_EQ(outcome(bytes), refusal("a symbol-table node at " + std::to_string(snod_) + " of 9 entries where nodes hold 8"));
}

TEST_F(GroupTree, NamesOutsideTheHeapAreRefused) {
    auto bytes = good_;
    put_le(bytes, snod_ + 8 + kSymbol, 0xfff0, 8); // the second symbol's name
    EXPECT_EQ(outcome(bytes), refusal("a link name at 65520 outside the local heap at " + std::to_string(heap_)));
    bytes = good_;
    put_le(bytes, tree_ + kNodeHead + 16, 0xfff0, 8); // key 1: the last name under child 0
    EXPECT_EQ(outcome(bytes), refusal("a link name at 65520 outside the local heap at " + std::to_string(heap_)));
    // a name that runs to the end of the heap without its NUL (the heap's free block with it:
    // the free list emptied first)
    bytes = good_;
    put_le(bytes, heap_ + 16, 1, 8); // H5HL_FREE_NULL
    const auto data = le_at(good_, heap_ + 24, 8), size = le_at(good_, heap_ + 8, 8);
    const auto layers = good_.find(std::string("layers\0", 7), data);
    ASSERT_LT(layers, data + size);
    for (auto i = layers; i < data + size; ++i) bytes[i] = 'x';
    EXPECT_EQ(outcome(bytes), refusal("a link name at " + std::to_string(layers - data) + " outside the local heap at " + std::to_string(heap_)));
}

TEST_F(GroupTree, MissingNodesAndCyclesAreRefused) {
    auto bytes = good_;
    bytes[snod_] = 'X';
    EXPECT_EQ(outcome(bytes), refusal("no symbol-table node at " + std::to_string(snod_)));
    bytes = good_;
    bytes[tree_ + 5] = 1; // the leaf claims a level of 1: its child, the SNOD, should be a node
    EXPECT_EQ(outcome(bytes), refusal("no group B-tree node at " + std::to_string(snod_)));
    put_le(bytes, tree_ + kNodeHead + 8, tree_, 8); // and now its own child
    EXPECT_EQ(outcome(bytes), refusal("a group B-tree that reaches its node at " + std::to_string(tree_) + " twice"));
}

} // namespace
} // namespace scx
