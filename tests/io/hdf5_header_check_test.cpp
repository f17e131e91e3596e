// Object-header messages libhdf5 1.10 decodes past their end (issue 23, item 5: the h5ad
// fuzzer's strdup over-reads): attribute names and enum / compound member names are copied
// with strdup, and member counts come from the message without a size check. h5::has_attr,
// the attribute readers and h5::open_dataset now walk the object header first
// (check_header_messages in io/hdf5_structure_check.cpp). Files are written here with the HDF5 C API, with
// version 1 (libver earliest, as h5py writes) and version 2 object headers, and damaged here.
#include "scextract/core/error.hpp"
#include "scextract/io/hdf5.hpp"

#include "../support/file_bytes.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <utility>
#include <span>
#include <string>
#include <vector>

namespace scx {
namespace {

using h5::Handle;
using test::slurp;
using test::spit;
using test::TempDir;

struct Pair {
    std::int32_t alpha_member;
    double beta_member;
};

/// A group "g" with an h5py-style bool attribute "ordered" (an int8 enum FALSE/TRUE) and a
/// compound dataset "records" {alpha_member: int32, beta_member: float64}.
std::string file_with_enum_and_compound(const TempDir& dir, H5F_libver_t low) {
    const auto path = (dir / "types.h5").string();
    Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
    H5Pset_libver_bounds(fapl, low, H5F_LIBVER_LATEST);
    Handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl));
    Handle g(H5Gcreate2(f, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    Handle e(H5Tenum_create(H5T_NATIVE_INT8));
    std::int8_t v = 0;
    H5Tenum_insert(e, "FALSE", &v);
    v = 1;
    H5Tenum_insert(e, "TRUE", &v);
    Handle scalar(H5Screate(H5S_SCALAR));
    Handle a(H5Acreate2(g, "ordered", e, scalar, H5P_DEFAULT, H5P_DEFAULT));
    EXPECT_GE(H5Awrite(a, e, &v), 0);
    Handle c(H5Tcreate(H5T_COMPOUND, sizeof(Pair)));
    H5Tinsert(c, "alpha_member", HOFFSET(Pair, alpha_member), H5T_NATIVE_INT32);
    H5Tinsert(c, "beta_member", HOFFSET(Pair, beta_member), H5T_NATIVE_DOUBLE);
    const hsize_t n = 3;
    Handle space(H5Screate_simple(1, &n, nullptr));
    Handle d(H5Dcreate2(g, "records", c, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    const Pair rows[3] = {{1, 0.5}, {2, 1.5}, {3, 2.5}};
    EXPECT_GE(H5Dwrite(d, c, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows), 0);
    return path;
}

/// Opens g, reads its attribute and its compound dataset: "" when all worked as written, the
/// scx::Error's message otherwise (a crash fails the run; under ASan, an over-read does too).
std::string outcome(const std::string& path) {
    try {
        Handle f = h5::open_file_read(path);
        Handle g = h5::open_group(f, "g");
        const bool ordered = h5::read_bool_attr(g, "ordered") == std::optional<bool>(true);
        Handle d = h5::open_dataset(g, "records");
        const auto records = h5::read_compound(d);
        return ordered && records.n == 3 && records.fields.size() == 2 ? "" : "wrong values";
    } catch (const Error& e) {
        return e.what();
    }
}

class HeaderCheck : public ::testing::TestWithParam<H5F_libver_t> {
protected:
    /// Writes the file, applies @p damage to its bytes and reads it: (path, outcome()). The
    /// address of g's object header goes to @p g_addr first, when asked for.
    std::pair<std::string, std::string> read_damaged(const std::function<void(std::string&)>& damage, haddr_t* g_addr = nullptr) {
        const auto path = file_with_enum_and_compound(dir_, GetParam());
        if (g_addr) {
            Handle f = h5::open_file_read(path);
            H5O_info_t info;
            EXPECT_GE(H5Oget_info_by_name2(f, "g", &info, H5O_INFO_BASIC, H5P_DEFAULT), 0);
            *g_addr = info.addr;
        }
        auto bytes = slurp(path);
        damage(bytes);
        spit(path, bytes);
        return {path, outcome(path)};
    }

    /// @p ours is expected where the header is walked before libhdf5 loads it. A check made after
    /// (@p after_load) meets version 2 headers refused by libhdf5 itself: they carry a checksum,
    /// which it verifies when it loads them; version 1 headers (h5py's) have none.
    void expect_refused(const std::string& msg, const std::string& ours, bool after_load = false) const {
        if (after_load && GetParam() == H5F_LIBVER_LATEST) {
            EXPECT_NE(msg.find("incorrect metadata checksum"), std::string::npos) << msg;
        } else {
            EXPECT_NE(msg.find(ours), std::string::npos) << msg;
        }
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }

    TempDir dir_;
};

/// Raises the member count of the datatype at @p type (class @p cls, 2 members) to 126: its
/// names then run past the message (the fuzzer's finding, on an enum).
void raise_member_count(std::string& bytes, std::size_t type, int cls) {
    ASSERT_LT(type, bytes.size());
    ASSERT_EQ(bytes[type] & 0x0f, cls) << "not the datatype's class byte";
    ASSERT_EQ(bytes[type + 1], 2);
    bytes[type + 1] = 0x7e;
}

TEST_P(HeaderCheck, UndamagedTypesRead) { EXPECT_EQ(read_damaged([](std::string&) {}).second, ""); }

TEST_P(HeaderCheck, UnterminatedAttributeNameIsRefused) {
    const auto [path, msg] = read_damaged([](std::string& bytes) {
        const auto at = bytes.find(std::string("ordered\0", 8));
        ASSERT_NE(at, std::string::npos);
        bytes[at + 7] = 'X'; // the name's NUL gone: strdup would run on into the datatype
    });
    EXPECT_EQ(msg.rfind(path + ":/g", 0), 0U) << msg;
    expect_refused(msg, path + ":/g: an attribute message whose name is not terminated within it (damaged file?)");
}

TEST_P(HeaderCheck, EnumWithMoreMembersThanItsMessageHoldsIsRefused) {
    const auto [path, msg] = read_damaged([](std::string& bytes) {
        // the enum's 8-byte header, then its int8 base type (12 bytes), then the names
        raise_member_count(bytes, bytes.find(std::string("FALSE\0", 6)) - 20, 8);
    });
    EXPECT_EQ(msg.rfind(path + ":/g", 0), 0U) << msg;
    // names padded to 8 bytes (datatype version 1, h5py's) run past first; unpadded (version 3) do not
    expect_refused(msg, path + (GetParam() == H5F_LIBVER_LATEST ? ":/g: a datatype member name not terminated within its message"
                                                                : ":/g: a datatype that runs past its message") +
                            " (damaged file?)");
}

// An enum whose size says 5 bytes over 1-byte values (h5ad fuzzer finding: libhdf5 sized the
// value table by one and filled it by the other, an over-read in H5T_copy_reopen).
TEST_P(HeaderCheck, EnumWiderThanItsValuesIsRefused) {
    const auto [path, msg] = read_damaged([](std::string& bytes) {
        const auto type = bytes.find(std::string("FALSE\0", 6)) - 20;
        ASSERT_EQ(bytes[type] & 0x0f, 8);
        ASSERT_EQ(bytes[type + 4], 1);
        bytes[type + 4] = 5;
    });
    EXPECT_EQ(msg.rfind(path + ":/g", 0), 0U) << msg;
    expect_refused(msg, path + ":/g: an enum of 5 bytes whose values take 1 (damaged file?)");
}

TEST_P(HeaderCheck, CompoundWithMoreMembersThanItsMessageHoldsIsRefusedBeforeTheDatasetOpens) {
    const auto [path, msg] = read_damaged([](std::string& bytes) {
        // the first member's name follows the compound's 8-byte header
        raise_member_count(bytes, bytes.find("alpha_member") - 8, 6);
    });
    EXPECT_EQ(msg.rfind(path + ":/g/records: ", 0), 0U) << msg;
    expect_refused(msg, path + ":/g/records: a datatype member name not terminated within its message (damaged file?)");
}

// A field placed past the end of its record: libhdf5 decodes the type, then converts from past
// the end of its buffer (the fuzzer's use-after-free in H5T__conv_struct_opt); read_compound
// refuses it.
TEST_P(HeaderCheck, CompoundFieldOutsideItsRecordIsRefusedBeforeTheRead) {
    const auto [path, msg] = read_damaged([](std::string& bytes) {
        const auto first = bytes.find("alpha_member"), second = bytes.find("beta_member");
        ASSERT_NE(second, std::string::npos);
        const int version = (static_cast<unsigned char>(bytes[first - 8]) >> 4) & 0x0f;
        // the field's offset follows its name: padded to 16 bytes (versions 1, 2) or not (3)
        const auto offset = second + (version >= 3 ? 12 : 16);
        ASSERT_EQ(bytes[offset], 8);
        bytes[offset] = static_cast<char>(0xf0); // 240, past the 16-byte record
    });
    expect_refused(msg, path + ":/g/records: field 1 lies outside its 16-byte record (offset 240, 8 bytes) (damaged file?)",
                   true);
}

// A header block declaring 3 GB (the fuzzer's finding: libhdf5 allocates a block's declared
// size before reading it): the walk finds the block running past the end of the file before
// libhdf5 loads the header.
TEST_P(HeaderCheck, HeaderBlockLargerThanTheFileIsRefusedBeforeLibhdf5LoadsIt) {
    haddr_t g_addr = 0;
    const auto [path, msg] = read_damaged([&](std::string& bytes) {
        ASSERT_LT(g_addr + 16, bytes.size());
        std::size_t at = g_addr + 8; // version 1: the first block's 4-byte size
        std::size_t width = 4;
        if (bytes.compare(g_addr, 4, "OHDR") == 0) { // version 2: after optional times and attribute limits
            const unsigned flags = static_cast<unsigned char>(bytes[g_addr + 5]);
            at = g_addr + 6 + ((flags & 0x20) ? 16 : 0) + ((flags & 0x10) ? 4 : 0);
            width = std::size_t{1} << (flags & 3);
        }
        for (std::size_t i = 0; i < width; ++i) bytes[at + i] = static_cast<char>(i + 1 == width ? 0x7f : 0xff);
    }, &g_addr);
    EXPECT_EQ(msg.rfind(path + ":/g: ", 0), 0U) << msg;
    EXPECT_NE(msg.find("(damaged file?)"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST_P(HeaderCheck, EveryByteFlipInTheGroupHeaderReadsOrIsRefused) {
    const auto path = file_with_enum_and_compound(dir_, GetParam());
    const auto good = slurp(path);
    const auto name = good.find(std::string("ordered\0", 8));
    ASSERT_NE(name, std::string::npos);
    int refused = 0;
    for (std::size_t at = name - 16; at < std::min(good.size(), name + 96); ++at) {
        auto bytes = good;
        bytes[at] = static_cast<char>(bytes[at] ^ 0x5a);
        spit(path, bytes);
        const auto msg = outcome(path); // a crash or a hang here is the failure
        if (!msg.empty()) ++refused;
        if (!msg.empty() && msg != "wrong values") {
            EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
        }
    }
    EXPECT_GT(refused, 0);
}

// The root group's header is loaded by H5Fopen itself, before any lookup: a block size of
// 12 GB in it made libhdf5 allocate 12 GB (fuzzer finding). The superblock is read here to
// find the root's header, which is walked before the file is opened, on disk and in memory.
TEST(HeaderCheckRoot, RootHeaderBlockLargerThanTheFileIsRefusedBeforeTheFileOpens) {
    TempDir dir;
    const auto path = file_with_enum_and_compound(dir, H5F_LIBVER_EARLIEST);
    haddr_t root = 0;
    {
        Handle f = h5::open_file_read(path);
        H5O_info_t info;
        ASSERT_GE(H5Oget_info2(f, &info, H5O_INFO_BASIC), 0);
        root = info.addr;
    }
    auto bytes = slurp(path);
    ASSERT_EQ(bytes[root], 1); // a version 1 header: its first block's size is 4 bytes at +8
    for (int i = 0; i < 4; ++i) bytes[root + 8 + static_cast<std::size_t>(i)] = i == 3 ? 0x7f : static_cast<char>(0xff);
    spit(path, bytes);
    const std::string expected = ": an object header block of 2147483647 bytes (damaged file?)";
    try {
        (void)h5::open_file_read(path);
        ADD_FAILURE() << "opened";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), path + expected);
    }
    try {
        (void)h5::open_file_image(std::as_bytes(std::span(bytes)), "image.h5ad");
        ADD_FAILURE() << "opened";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), "image.h5ad" + expected);
    }
}

/// A v1 file with one chunked int32 dataset "d" of 77 elements in chunks of 7 (resizable, as
/// h5py writes chunked arrays), and its bytes.
std::pair<std::string, std::string> file_with_chunked_dataset(const TempDir& dir) {
    const auto path = (dir / "chunked.h5").string();
    {
        Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
        H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST);
        Handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl));
        const hsize_t n = 77, unlimited = H5S_UNLIMITED, chunk = 7;
        Handle space(H5Screate_simple(1, &n, &unlimited));
        Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
        H5Pset_chunk(dcpl, 1, &chunk);
        Handle d(H5Dcreate2(f, "d", H5T_NATIVE_INT32, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
        std::vector<std::int32_t> v(77, 5);
        EXPECT_GE(H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), 0);
        h5::write_string_attr(f, "encoding-type", "anndata");
    }
    return {path, slurp(path)};
}

std::string open_d(const std::string& path) {
    try {
        Handle f = h5::open_file_read(path);
        if (h5::read_string_attr(f, "encoding-type") != std::optional<std::string>("anndata")) return "wrong";
        return h5::read_ndarray(h5::open_dataset(f, "d")).size() == 77 ? "" : "wrong";
    } catch (const Error& e) {
        return e.what();
    }
}

// Chunk dimensions of 0 (tenx_h5 fuzzer finding: libhdf5 divides by them when it opens the
// dataset, SIGFPE), and chunks of a rank other than the data's (h5ad fuzzer finding: a scalar
// with rank-1 chunks made libhdf5 allocate until the machine ran out, 24 GB).
TEST(HeaderCheckLayout, ZeroChunkDimensionAndChunkRankMismatchAreRefused) {
    TempDir dir;
    const auto [path, good] = file_with_chunked_dataset(dir);
    ASSERT_EQ(open_d(path), "");
    // layout message version 3, chunked: 3, 2, dimensionality 2, B-tree address, 7, element size 4
    const auto chunk_dims = good.find(std::string("\x07\x00\x00\x00\x04\x00\x00\x00", 8));
    ASSERT_NE(chunk_dims, std::string::npos);
    ASSERT_EQ(good.compare(chunk_dims - 11, 3, std::string("\x03\x02\x02", 3)), 0);
    auto bytes = good;
    bytes[chunk_dims] = 0;
    spit(path, bytes);
    EXPECT_EQ(open_d(path), path + ":/d: a chunked layout with a chunk dimension of 0 (damaged file?)");

    // dataspace message version 1: 1, rank 1, flags 1 (a maximum), 5 reserved, 77, unlimited
    const auto space = good.find(std::string("\x01\x01\x01\x00\x00\x00\x00\x00\x4d\x00", 10));
    ASSERT_NE(space, std::string::npos);
    bytes = good;
    bytes[space + 1] = 0; // rank 0: a scalar
    spit(path, bytes);
    EXPECT_EQ(open_d(path), path + ":/d: its chunks have 1 dimensions but its data has 0; damaged file?");
}

// A group's local heap whose free list points back at itself (h5ad and tenx_h5 fuzzer finding:
// libhdf5 follows the list without looking for a cycle, allocating a node per step, 14 GB in
// seconds). The root's heap is checked before the file is opened.
TEST(HeaderCheckLocalHeap, FreeListThatLoopsIsRefused) {
    TempDir dir;
    auto [path, bytes] = file_with_chunked_dataset(dir);
    const auto heap = bytes.find("HEAP");
    ASSERT_NE(heap, std::string::npos);
    const auto le = [&](std::size_t at) { return test::le_at(bytes, at, 8); };
    const auto put = [&](std::size_t at, std::uint64_t v) { test::put_le(bytes, at, v, 8); };
    const std::uint64_t size = le(heap + 8), data = le(heap + 24);
    ASSERT_GE(size, 16U);
    const std::uint64_t block = (size - 16) / 8 * 8; // a free block at the end of the segment, linked to itself
    put(heap + 16, block);
    put(data + block, block);
    put(data + block + 8, 16);
    spit(path, bytes);
    EXPECT_EQ(open_d(path), path + ": the local heap at " + std::to_string(heap) + " has a free list that loops (damaged file?)");
}

// A variable-length string whose characters are declared 2 bytes wide (h5ad fuzzer finding: a
// 1.5 GB "character" made libhdf5 allocate 4.6 GB for a 3-character string), and a root whose
// symbol-table message lost its B-tree address (tenx_h5 fuzzer finding: libhdf5 fell back on
// the superblock's cached copy and crashed in its metadata accumulator).
TEST(HeaderCheckLayout, WideStringCharactersAndARootWithoutItsBTreeAreRefused) {
    TempDir dir;
    const auto [path, good] = file_with_chunked_dataset(dir);
    ASSERT_EQ(open_d(path), "");
    // vlen string datatype, version 1, UTF-8, 16 bytes; its base: a 1-byte integer
    const std::string vlen_string("\x19\x01\x01\x00\x10\x00\x00\x00\x10\x00\x00\x00\x01\x00\x00\x00", 16);
    const auto type = good.find(vlen_string);
    ASSERT_NE(type, std::string::npos);
    auto bytes = good;
    bytes[type + 12] = 2;
    spit(path, bytes);
    EXPECT_EQ(open_d(path), path + ": a variable-length string of 2-byte characters (damaged file?)"); // the root: before the file opens

    const auto stab = good.find(std::string("\x11\x00\x10\x00", 4)); // version 1 message: symbol table, 16 bytes
    ASSERT_NE(stab, std::string::npos);
    bytes = good;
    for (int i = 0; i < 8; ++i) bytes[stab + 8 + static_cast<std::size_t>(i)] = static_cast<char>(0xff);
    spit(path, bytes);
    EXPECT_EQ(open_d(path), path + ": a group's symbol table without its B-tree or heap (damaged file?)");
}

// A variable-length string type declared 15 bytes wide, and an object reference declared 4
// (h5ad fuzzer finding: libhdf5 sized the attribute's value by the declared size and copied it
// by the size these types take in a file, 16 and 8 bytes: an over-read in H5A__read).
TEST(HeaderCheckTypes, VariableLengthAndReferenceTypesOfAnotherSizeAreRefused) {
    TempDir dir;
    const auto [path, good] = file_with_chunked_dataset(dir);
    const std::string vlen_string("\x19\x01\x01\x00\x10\x00\x00\x00\x10\x00\x00\x00\x01\x00\x00\x00", 16);
    const auto type = good.find(vlen_string);
    ASSERT_NE(type, std::string::npos);
    auto bytes = good;
    bytes[type + 4] = 15;
    spit(path, bytes);
    EXPECT_EQ(open_d(path), path + ": a variable-length datatype of 15 bytes (damaged file?)"); // the root's attribute

    const auto ref_path = (dir / "reference.h5").string();
    {
        Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
        H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST);
        Handle f(H5Fcreate(ref_path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl));
        Handle target(H5Gcreate2(f, "categories", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
        Handle g(H5Gcreate2(f, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
        hobj_ref_t ref{};
        ASSERT_GE(H5Rcreate(&ref, f, "categories", H5R_OBJECT, -1), 0);
        Handle scalar(H5Screate(H5S_SCALAR));
        Handle a(H5Acreate2(g, "categories", H5T_STD_REF_OBJ, scalar, H5P_DEFAULT, H5P_DEFAULT));
        ASSERT_GE(H5Awrite(a, H5T_STD_REF_OBJ, &ref), 0);
    }
    const auto read_ref = [&] {
        try {
            Handle f = h5::open_file_read(ref_path);
            Handle g = h5::open_group(f, "g");
            return h5::attr_is_reference(g, "categories") && h5::deref_attr(g, "categories").valid() ? std::string() : "wrong";
        } catch (const Error& e) {
            return std::string(e.what());
        }
    };
    ASSERT_EQ(read_ref(), "");
    bytes = slurp(ref_path);
    // reference datatype, version 1, class 7, an object reference: 8 bytes
    const auto ref_type = bytes.find(std::string("\x17\x00\x00\x00\x08\x00\x00\x00", 8));
    ASSERT_NE(ref_type, std::string::npos);
    bytes[ref_type + 4] = 4;
    spit(ref_path, bytes);
    EXPECT_EQ(read_ref(), ref_path + ":/g: a reference of 4 bytes (damaged file?)");
}

// An int32 whose precision claims 64 bits (tenx_h5 fuzzer finding: libhdf5's conversion
// copied bits past the number, SIGBUS in H5T__bit_copy).
TEST(HeaderCheckLayout, NumberWhoseBitsLieOutsideItIsRefused) {
    TempDir dir;
    auto [path, bytes] = file_with_chunked_dataset(dir);
    // integer datatype, version 1, signed, 4 bytes; bit offset 0, precision 32
    const auto type = bytes.find(std::string("\x10\x08\x00\x00\x04\x00\x00\x00\x00\x00\x20\x00", 12));
    ASSERT_NE(type, std::string::npos);
    bytes[type + 10] = 0x40;
    spit(path, bytes);
    EXPECT_EQ(open_d(path), path + ":/d: a 4-byte number whose bit fields lie outside it (damaged file?)");
}

// A compact dataset (its elements inside its layout message) holding fewer bytes than its
// elements need (tenx_h5 fuzzer finding: libhdf5 copied 8 bytes from an empty buffer, SIGSEGV).
TEST(HeaderCheckLayout, CompactDatasetShorterThanItsElementsIsRefused) {
    TempDir dir;
    const auto path = (dir / "compact.h5").string();
    {
        Handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
        const hsize_t n = 2;
        Handle space(H5Screate_simple(1, &n, nullptr));
        Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
        H5Pset_layout(dcpl, H5D_COMPACT);
        Handle d(H5Dcreate2(f, "shape", H5T_STD_I32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
        const std::int32_t v[2] = {0x11223344, 0x55667788};
        ASSERT_GE(H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    }
    const auto read = [&] {
        try {
            Handle f = h5::open_file_read(path);
            return h5::read_ndarray(h5::open_dataset(f, "shape")).size() == 2 ? std::string() : "wrong";
        } catch (const Error& e) {
            return std::string(e.what());
        }
    };
    ASSERT_EQ(read(), "");
    auto bytes = slurp(path);
    // layout message version 3, compact: 3, 0, 2-byte size 8, the elements
    const auto at = bytes.find(std::string("\x03\x00\x08\x00\x44\x33\x22\x11", 8));
    ASSERT_NE(at, std::string::npos);
    bytes[at + 2] = 0;
    spit(path, bytes);
    EXPECT_EQ(read(), path + ":/shape: its data is stored in its header as 0 bytes, but 2 elements need 8; damaged file?");
    bytes[at + 2] = static_cast<char>(0xff); // more bytes than the message holds: libhdf5 would copy them all
    spit(path, bytes);
    EXPECT_EQ(read(), path + ":/shape: a compact layout message shorter than its data (damaged file?)");
}

// The same for an array datatype: its size must be its elements' (3 int32: 12 bytes).
TEST(HeaderCheckTypes, ArrayOfAnotherSizeThanItsElementsIsRefused) {
    TempDir dir;
    const auto path = (dir / "array.h5").string();
    {
        Handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
        const hsize_t three = 3, n = 2;
        Handle type(H5Tarray_create2(H5T_STD_I32LE, 1, &three));
        Handle space(H5Screate_simple(1, &n, nullptr));
        Handle d(H5Dcreate2(f, "triples", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
        const std::int32_t v[6] = {1, 2, 3, 4, 5, 6};
        ASSERT_GE(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    }
    const auto open = [&] {
        try {
            Handle f = h5::open_file_read(path);
            Handle d = h5::open_dataset(f, "triples");
            return std::string();
        } catch (const Error& e) {
            return std::string(e.what());
        }
    };
    ASSERT_EQ(open(), "");
    auto bytes = slurp(path);
    // array datatype (class 10), version 2: flags, size 12; rank 1, 3 reserved, dimension 3
    const auto at = bytes.find(std::string("\x2a\x00\x00\x00\x0c\x00\x00\x00\x01\x00\x00\x00\x03\x00\x00\x00", 16));
    ASSERT_NE(at, std::string::npos);
    bytes[at + 12] = 4; // four elements of 4 bytes in 12
    spit(path, bytes);
    EXPECT_EQ(open(), path + ":/triples: an array of 12 bytes whose elements take another size (damaged file?)");
}

// A new-style group with its links in dense storage (a fractal heap and a version 2 B-tree, as
// h5py writes with track_order or libver latest): its link-info message names both by address,
// and libhdf5 1.10 copies from wherever they point (the fuzzer's SIGSEGV in H5B2_open). The walk
// refuses an address without the structure's signature.
TEST(HeaderCheckDenseGroup, LinkInfoPointingOffItsBTreeIsRefused) {
    TempDir dir;
    const auto path = (dir / "dense.h5").string();
    {
        Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
        H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
        Handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl));
        Handle g(H5Gcreate2(f, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
        for (int i = 0; i < 12; ++i) Handle(H5Gcreate2(g, ("child_" + std::to_string(i)).c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    }
    const auto read_g = [&] {
        try {
            Handle f = h5::open_file_read(path);
            return h5::is_group(f, "g") && h5::children(h5::open_group(f, "g")).size() == 12 ? std::string() : "wrong";
        } catch (const Error& e) {
            return std::string(e.what());
        }
    };
    ASSERT_EQ(read_g(), "");
    auto bytes = slurp(path);
    const auto heap = bytes.find("FRHP"), tree = bytes.find("BTHD");
    ASSERT_NE(heap, std::string::npos);
    ASSERT_NE(tree, std::string::npos);
    const auto le8 = [](std::uint64_t v) {
        std::string b(8, '\0');
        for (int i = 0; i < 8; ++i) b[static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
        return b;
    };
    const auto linfo = bytes.find(le8(heap) + le8(tree)); // the link-info message's two addresses
    ASSERT_NE(linfo, std::string::npos);
    bytes.replace(linfo + 8, 8, le8(heap)); // the name index now points at the heap
    spit(path, bytes);
    EXPECT_EQ(read_g(), path + ":/g: a B-tree at " + std::to_string(heap) + " is not there (no 'BTHD' signature) (damaged file?)");
}

// A new-style compact group keeps its links as link messages in its header; libhdf5 1.10 copies
// a link's name by the length it declares, and a link it cannot decode left an uninitialised
// entry that it freed (h5ad fuzzer finding, SIGSEGV in free). The walk checks every field.
TEST(HeaderCheckCompactGroup, LinkMessagesLibhdf5CannotDecodeAreRefused) {
    TempDir dir;
    const auto path = (dir / "compact_group.h5").string();
    {
        Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
        H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
        Handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl));
        Handle g(H5Gcreate2(f, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
        for (int i = 0; i < 3; ++i) Handle(H5Gcreate2(g, ("child_" + std::to_string(i)).c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    }
    const auto read_g = [&] {
        try {
            Handle f = h5::open_file_read(path);
            return h5::is_group(f, "g") && h5::children(h5::open_group(f, "g")).size() == 3 ? std::string() : "wrong";
        } catch (const Error& e) {
            return std::string(e.what());
        }
    };
    ASSERT_EQ(read_g(), "");
    const auto good = slurp(path);
    // link message: version 1, flags 0 (a hard link, 1-byte name length), 7, "child_1", address
    const auto name = good.find("child_1");
    ASSERT_NE(name, std::string::npos);
    ASSERT_EQ(good.compare(name - 3, 3, std::string("\x01\x00\x07", 3)), 0);
    auto bytes = good;
    bytes[name - 3] = 2;
    spit(path, bytes);
    EXPECT_EQ(read_g(), path + ":/g: a link message of an unknown version (damaged file?)");
    bytes = good;
    bytes[name - 1] = static_cast<char>(200); // a name longer than its message
    spit(path, bytes);
    EXPECT_EQ(read_g(), path + ":/g: a link message shorter than its fields (damaged file?)");
    bytes = good;
    bytes[name - 2] = 0x08; // a link type follows: the length byte, 7, read as one is no type libhdf5 knows
    spit(path, bytes);
    EXPECT_EQ(read_g(), path + ":/g: a link of an unknown type (damaged file?)");
}

INSTANTIATE_TEST_SUITE_P(Headers, HeaderCheck, ::testing::Values(H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST),
                         [](const auto& info) { return std::string(info.param == H5F_LIBVER_EARLIEST ? "v1" : "v2"); });

} // namespace
} // namespace scx
