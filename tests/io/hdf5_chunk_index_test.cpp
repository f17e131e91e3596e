// Two more structures libhdf5 1.10 trusts, found by the fuzzers (issue 23, item 5):
// - the version 1 B-tree that indexes a chunked dataset's chunks: a chunk of 0 bytes in it made
//   H5Dread copy past an 8-byte buffer (h5ad finding, ASan only), so the walk now reads the tree
//   as libhdf5 does and refuses a chunk outside the file, off the chunk grid or (unfiltered) of
//   another length than a chunk, and nodes out of level or reached twice;
// - the superblock's base address: libhdf5 counts addresses from where it found the superblock,
//   whatever base address the superblock stores, while the walk gave up on a file whose stored
//   base was not 0 - and a damaged root behind such a superblock crashed libhdf5 (tenx_h5
//   finding, SIGSEGV in H5F__accum_read, release build too). Files behind a user block are now
//   walked too.
// Files are written here with the HDF5 C API and damaged here.
#include "scextract/core/error.hpp"
#include "scextract/io/anndata.hpp"
#include "scextract/io/hdf5.hpp"

#include "../support/file_bytes.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace scx {
namespace {

using h5::Handle;
using test::le_at;
using test::put_le;
using test::slurp;
using test::spit;
using test::TempDir;

constexpr std::size_t kChunk = 7, kElements = 77; // 11 chunks of 7 int32: 28 bytes each

/// A file (superblock version 0, as h5py writes) with a chunked int32 dataset "d" of 77 fives in
/// chunks of 7, deflated when @p gzip, a contiguous variable-length string dataset "names" and
/// the root's string attribute "encoding-type"; behind a user block of @p userblock bytes.
std::string write_file(const TempDir& dir, bool gzip, hsize_t userblock = 0) {
    const auto path = (dir / "chunks.h5").string();
    Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
    H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST);
    Handle fcpl(H5Pcreate(H5P_FILE_CREATE));
    if (userblock) H5Pset_userblock(fcpl, userblock);
    Handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl, fapl));
    const hsize_t n = kElements, unlimited = H5S_UNLIMITED, chunk = kChunk;
    Handle space(H5Screate_simple(1, &n, &unlimited));
    Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
    H5Pset_chunk(dcpl, 1, &chunk);
    if (gzip) H5Pset_deflate(dcpl, 4);
    Handle d(H5Dcreate2(f, "d", H5T_STD_I32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    const std::vector<std::int32_t> v(kElements, 5);
    EXPECT_GE(H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), 0);
    h5::write_strings(f, "names", StringArray{{3}, {"alpha", "beta", "gamma"}}, {.gzip_level = 0, .chunk_elems = 0});
    h5::write_string_attr(f, "encoding-type", "anndata");
    return path;
}

/// Reads everything write_file() wrote: "" when all came back as written, the error otherwise.
std::string read_all(const std::string& path) {
    try {
        Handle f = h5::open_file_read(path);
        if (h5::read_string_attr(f, "encoding-type") != std::optional<std::string>("anndata")) return "wrong attribute";
        const auto d = h5::read_ndarray(h5::open_dataset(f, "d"));
        if (d.size() != kElements) return "wrong d";
        const auto names = h5::read_strings(h5::open_dataset(f, "names"));
        return names.values == std::vector<std::string>{"alpha", "beta", "gamma"} ? "" : "wrong names";
    } catch (const Error& e) {
        return e.what();
    }
}

/// The offset of the chunk B-tree's node ("TREE", node type 1) in @p bytes.
std::size_t chunk_tree(const std::string& bytes) {
    for (auto at = bytes.find("TREE"); at != std::string::npos; at = bytes.find("TREE", at + 1))
        if (bytes[at + 4] == 1) return at;
    return std::string::npos;
}

// node: "TREE", type, level, entries (2), two sibling addresses; then per entry a key (chunk
// size 4, filter mask 4, one 8-byte offset per dimension: the element's, then 0) and a child
constexpr std::size_t kNodeHead = 24, kKey = 8 + 2 * 8, kEntry = kKey + 8;

class ChunkIndex : public ::testing::Test {
protected:
    void SetUp() override {
        path_ = write_file(dir_, false);
        good_ = slurp(path_);
        tree_ = chunk_tree(good_);
        ASSERT_NE(tree_, std::string::npos);
        ASSERT_EQ(good_[tree_ + 5], 0); // one leaf holds all 11 chunks
        ASSERT_EQ(le_at(good_, tree_ + 6, 2), kElements / kChunk);
        ASSERT_EQ(le_at(good_, first_key(), 4), 4 * kChunk);
        ASSERT_EQ(read_all(path_), "");
    }
    [[nodiscard]] std::size_t first_key() const { return tree_ + kNodeHead; }
    [[nodiscard]] std::size_t key(std::size_t i) const { return first_key() + i * kEntry; }
    std::string read_with(std::string bytes) {
        spit(path_, bytes);
        return read_all(path_);
    }
    [[nodiscard]] std::string refusal(const std::string& why) const { return path_ + ":/d: " + why + " (damaged file?)"; }

    TempDir dir_;
    std::string path_, good_;
    std::size_t tree_ = 0;
};

TEST_F(ChunkIndex, EmptyChunkIsRefused) {
    auto bytes = good_;
    put_le(bytes, key(2), 0, 4);
    const auto chunk = le_at(good_, key(2) + kKey, 8);
    EXPECT_EQ(read_with(bytes), refusal("an empty chunk at " + std::to_string(chunk)));
}

TEST_F(ChunkIndex, UnfilteredChunkOfAnotherLengthIsRefused) {
    auto bytes = good_;
    put_le(bytes, key(4), 20, 4);
    EXPECT_EQ(read_with(bytes), refusal("an unfiltered chunk of 20 bytes where a chunk holds 28"));
    put_le(bytes, key(4), 40, 4); // longer: libhdf5 would copy 40 bytes into a 28-byte chunk buffer
    EXPECT_EQ(read_with(bytes), refusal("an unfiltered chunk of 40 bytes where a chunk holds 28"));
}

TEST_F(ChunkIndex, ChunkOutsideTheFileIsRefused) {
    auto bytes = good_;
    put_le(bytes, key(0) + kKey, good_.size() - 8, 8);
    EXPECT_EQ(read_with(bytes), refusal("a chunk of 28 bytes at " + std::to_string(good_.size() - 8) + ", outside the file (" +
                                        std::to_string(good_.size()) + " bytes)"));
}

TEST_F(ChunkIndex, ChunkOffTheGridIsRefused) {
    auto bytes = good_;
    put_le(bytes, key(1) + 8, 3, 8);
    EXPECT_EQ(read_with(bytes), refusal("a chunk at offset 3 of dimension 0, off the chunk grid"));
    bytes = good_;
    put_le(bytes, key(1) + 16, 4, 8); // the element's own dimension is always 0
    EXPECT_EQ(read_with(bytes), refusal("a chunk at offset 4 of dimension 1, off the chunk grid"));
}

TEST_F(ChunkIndex, NodesOutOfLevelOrReachedTwiceAreRefused) {
    auto bytes = good_;
    bytes[tree_ + 5] = 1; // the chunks become child nodes
    const auto chunk = le_at(good_, key(0) + kKey, 8);
    EXPECT_EQ(read_with(bytes), refusal("no chunk B-tree node at " + std::to_string(chunk)));
    put_le(bytes, key(0) + kKey, tree_, 8); // the node is its own child
    EXPECT_EQ(read_with(bytes), refusal("a chunk B-tree that reaches its node at " + std::to_string(tree_) + " twice"));
    // a copy of the node (of level 1 too) appended to the file as its first child: not one level down
    const auto copy = bytes.size();
    bytes += bytes.substr(tree_, kNodeHead + 11 * kEntry + kKey);
    put_le(bytes, key(0) + kKey, copy, 8);
    EXPECT_EQ(read_with(bytes), refusal("a chunk B-tree node at " + std::to_string(copy) + " of level 1 under a node of level 1"));
}

TEST_F(ChunkIndex, NodeWithMoreEntriesThanTheFileHoldsIsRefused) {
    auto bytes = good_;
    put_le(bytes, tree_ + 6, 0xffff, 2);
    const auto need = 0xffff * kEntry + kKey;
    EXPECT_EQ(read_with(bytes), refusal(std::to_string(need) + " bytes at " + std::to_string(tree_ + kNodeHead) +
                                        " run past the end of the file (" + std::to_string(good_.size()) + " bytes)"));
}

// Deflated chunks are shorter than a chunk and are read as they are; a chunk whose filter mask
// skips the filter is raw, and must then be a chunk long.
TEST(ChunkIndexFiltered, DeflatedChunksReadAndASkippedFilterMeansRaw) {
    TempDir dir;
    const auto path = write_file(dir, true);
    ASSERT_EQ(read_all(path), "");
    auto bytes = slurp(path);
    const auto tree = chunk_tree(bytes);
    ASSERT_NE(tree, std::string::npos);
    const auto key = tree + kNodeHead;
    const auto stored = le_at(bytes, key, 4);
    ASSERT_LT(stored, 4 * kChunk); // seven fives deflate
    put_le(bytes, key + 4, 1, 4);     // filter 0 skipped
    spit(path, bytes);
    EXPECT_EQ(read_all(path), path + ":/d: an unfiltered chunk of " + std::to_string(stored) + " bytes where a chunk holds 28 (damaged file?)");
}

// A user block before the superblock: every address in the file counts from the superblock. The
// walk used to give up on such files (their superblock stores a base address); it now checks
// them like any other: they read, and their damage is refused.
TEST(Superblock, FileBehindAUserBlockIsWalkedFromItsSuperblock) {
    TempDir dir;
    const auto path = write_file(dir, false, 512);
    ASSERT_EQ(read_all(path), "");
    auto bytes = slurp(path);
    ASSERT_EQ(bytes.compare(512, 8, "\x89HDF\r\n\x1a\n"), 0);
    ASSERT_EQ(le_at(bytes, 512 + 24, 8), 512U); // the stored base address
    const auto tree = chunk_tree(bytes);
    ASSERT_NE(tree, std::string::npos);
    put_le(bytes, tree + kNodeHead, 0, 4);
    spit(path, bytes);
    const auto chunk = le_at(bytes, tree + kNodeHead + kKey, 8); // relative to the superblock
    EXPECT_EQ(read_all(path), path + ":/d: an empty chunk at " + std::to_string(chunk) + " (damaged file?)");
}

// libhdf5 replaces the superblock's stored base address with the superblock's own offset; the
// walk does the same, so a stored base of 9 neither changes the reading nor hides damage behind
// it (the tenx_h5 finding: a base of 9 and a root symbol table without its heap).
TEST(Superblock, StoredBaseAddressIsIgnoredAsLibhdf5IgnoresIt) {
    TempDir dir;
    const auto path = write_file(dir, false);
    auto bytes = slurp(path);
    ASSERT_EQ(le_at(bytes, 24, 8), 0U);
    put_le(bytes, 24, 9, 8);
    put_le(bytes, 40, le_at(bytes, 40, 8) + 9, 8); // libhdf5 takes the base off the stored end of file too
    spit(path, bytes);
    EXPECT_EQ(read_all(path), "");
    const auto stab = bytes.find(std::string("\x11\x00\x10\x00", 4)); // version 1 message: symbol table, 16 bytes
    ASSERT_NE(stab, std::string::npos);
    put_le(bytes, stab + 16, ~std::uint64_t{0}, 8); // its local heap: undefined
    spit(path, bytes);
    EXPECT_EQ(read_all(path), path + ": a group's symbol table without its B-tree or heap (damaged file?)");
}

} // namespace
} // namespace scx

namespace scx {
namespace {

// A version 0 superblock naming a driver information block that declares 4 GB (tenx_h5 fuzzer
// finding: H5Fopen allocated the declared size before reading it). Refused before the file opens.
TEST(Superblock, DriverInformationBlockLargerThanTheFileIsRefused) {
    TempDir dir;
    const auto path = write_file(dir, false);
    auto bytes = slurp(path);
    ASSERT_EQ(le_at(bytes, 48, 8), ~std::uint64_t{0}); // base, free space, end of file, then the driver block's address
    const auto block = bytes.size();
    bytes += std::string("\x00\x00\x00\x00\xff\xff\xff\xffNCSAmult", 16); // version 0, 3 reserved, size, driver
    put_le(bytes, 48, block, 8);
    spit(path, bytes);
    EXPECT_EQ(read_all(path), path + ": a driver information block of 4294967295 bytes at " + std::to_string(block) +
                                  ", past the end of the file (damaged file?)");
}

} // namespace
} // namespace scx
