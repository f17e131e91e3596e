// Damaged global heaps behind variable-length strings (issue 23, item 1): libhdf5 1.10 trusts
// the heap and crashes inside H5Dread (H5HG_read) on a wrong collection size or object index.
// h5::read_strings checks the heap first. Files come from our writer; the damage is done here.
#include "scextract/core/error.hpp"
#include "scextract/io/h5ad_reader.hpp"
#include "scextract/io/hdf5.hpp"

#include "../support/error_of.hpp"
#include "../support/file_bytes.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace scx {
namespace {

using h5::Handle;
using test::error_of;
using test::slurp;
using test::spit;
using test::TempDir;

/// Fixed-length string attribute (so the global heap holds the indices' strings alone).
void fixed_attr(hid_t obj, const char* name, const std::string& value) {
    Handle t(H5Tcopy(H5T_C_S1));
    H5Tset_size(t, value.size());
    Handle space(H5Screate(H5S_SCALAR));
    Handle a(H5Acreate2(obj, name, t, space, H5P_DEFAULT, H5P_DEFAULT));
    ASSERT_GE(H5Awrite(a, t, value.data()), 0);
}

/// A minimal h5ad whose obs and var indices are variable-length strings, stored contiguous
/// (gzip 0) or in deflated chunks (gzip 4), and whose attributes are fixed-length strings:
/// libhdf5 itself reads vlen attributes from the heap, where we cannot look first (see hdf5.cpp).
std::string h5ad_with_strings(const TempDir& dir, int gzip) {
    const auto path = (dir / "strings.h5ad").string();
    Handle f(h5::create_file(path));
    fixed_attr(f, "encoding-type", "anndata");
    fixed_attr(f, "encoding-version", "0.1.0");
    const auto frame = [&](const char* name, std::vector<std::string> index) {
        Handle g(H5Gcreate2(f, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
        fixed_attr(g, "encoding-type", "dataframe");
        fixed_attr(g, "encoding-version", "0.2.0");
        fixed_attr(g, "_index", "_index");
        const auto n = static_cast<std::int64_t>(index.size());
        h5::write_strings(g, "_index", StringArray{{n}, std::move(index)}, {.gzip_level = gzip, .chunk_elems = 8});
    };
    std::vector<std::string> cells;
    for (int i = 0; i < 12; ++i) cells.push_back("cell_with_a_long_name_" + std::to_string(i));
    frame("obs", cells);
    frame("var", {"GENE_A", "GENE_B", "GENE_C"});
    return path;
}

/// Reads @p path; returns "" when it reads, the message when it throws scx::Error (a crash fails the test run).
std::string outcome(const std::string& path) {
    try {
        read_h5ad(path);
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

class VlenHeap : public ::testing::TestWithParam<int> {};

TEST_P(VlenHeap, CollectionSizeLargerThanItsObjectsIsRefused) {
    TempDir dir;
    const auto path = h5ad_with_strings(dir, GetParam());
    auto bytes = slurp(path);
    const auto gcol = bytes.find("GCOL");
    ASSERT_NE(gcol, std::string::npos);
    bytes[gcol + 8] ^= 0x40; // collection size 4096 -> 4160: libhdf5 SIGSEGVs in H5HG_read
    spit(path, bytes);
    const auto msg = outcome(path);
    EXPECT_EQ(msg.rfind(path + ":/", 0), 0U) << msg;
    EXPECT_NE(msg.find("runs past its collection of 4160 bytes (damaged file?)"), std::string::npos) << msg;
}

TEST_P(VlenHeap, MissingHeapObjectIsRefused) {
    TempDir dir;
    const auto path = h5ad_with_strings(dir, GetParam());
    auto bytes = slurp(path);
    const auto gcol = bytes.find("GCOL");
    ASSERT_NE(gcol, std::string::npos);
    ASSERT_EQ(bytes[gcol + 16], 1); // the first object's index
    bytes[gcol + 16] = 0x70;        // renumbered: object 1 is gone
    spit(path, bytes);
    const auto msg = outcome(path);
    EXPECT_EQ(msg.rfind(path + ":/", 0), 0U) << msg;
    EXPECT_NE(msg.find("names object 1 of the global heap at " + std::to_string(gcol) + ", which has no such object"),
              std::string::npos)
        << msg;
}

TEST_P(VlenHeap, BitFlipsInTheHeapGiveAnErrorOrTheData) {
    TempDir dir;
    const auto path = h5ad_with_strings(dir, GetParam());
    const auto clean = slurp(path);
    const auto gcol = clean.find("GCOL");
    ASSERT_NE(gcol, std::string::npos);
    int refused = 0;
    for (std::size_t at = gcol; at < gcol + 200; ++at) // header, then the first objects' headers and strings
        for (int bit : {6}) {
            auto bytes = clean;
            bytes[at] = static_cast<char>(bytes[at] ^ (1 << bit));
            spit(path, bytes);
            const auto msg = outcome(path); // must return, not crash
            if (!msg.empty()) {
                ++refused;
                EXPECT_EQ(msg.rfind(path + ":", 0), 0U) << msg;
                EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
            }
        }
    EXPECT_GT(refused, 0);
}

INSTANTIATE_TEST_SUITE_P(Layouts, VlenHeap, ::testing::Values(0, 4),
                         [](const auto& info) { return info.param == 0 ? std::string("contiguous") : std::string("gzip"); });

} // namespace
} // namespace scx

namespace scx {
namespace {

/// The first global heap object's index in @p bytes renumbered, so that every string naming
/// object 1 names an object the collection lacks; returns the collection's offset.
std::size_t renumber_first_heap_object(std::string& bytes) {
    const auto gcol = bytes.find("GCOL");
    EXPECT_NE(gcol, std::string::npos);
    EXPECT_EQ(bytes[gcol + 16], 1);
    bytes[gcol + 16] = 0x70;
    return gcol;
}

// A compact dataset keeps its strings' heap ids in its layout message: the walk now finds them
// there and checks the heap, as for contiguous and chunked datasets.
TEST(VlenHeapLayouts, CompactStringDatasetHasItsHeapChecked) {
    TempDir dir;
    const auto path = (dir / "compact.h5").string();
    {
        Handle f(h5::create_file(path));
        Handle type(H5Tcopy(H5T_C_S1));
        H5Tset_size(type, H5T_VARIABLE);
        const hsize_t n = 3;
        Handle space(H5Screate_simple(1, &n, nullptr));
        Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
        H5Pset_layout(dcpl, H5D_COMPACT);
        Handle d(H5Dcreate2(f, "names", type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
        const char* values[3] = {"alpha", "beta", "gamma"};
        ASSERT_GE(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values), 0);
    }
    const auto read = [&] {
        return error_of([&] {
            Handle f = h5::open_file_read(path);
            EXPECT_EQ(h5::read_strings(h5::open_dataset(f, "names")).values, (std::vector<std::string>{"alpha", "beta", "gamma"}));
        });
    };
    ASSERT_EQ(read(), "");
    auto bytes = slurp(path);
    const auto gcol = renumber_first_heap_object(bytes);
    spit(path, bytes);
    const auto msg = read(); // which string names object 1 is libhdf5's choice
    EXPECT_EQ(msg.rfind(path + ":/names: string ", 0), 0U) << msg;
    EXPECT_TRUE(msg.ends_with(" names object 1 of the global heap at " + std::to_string(gcol) + ", which has no such object (damaged file?)"))
        << msg;
}

// Records with variable-length string fields (anndata 0.6 dataframes; write_compound): the
// heap ids sit at each field's offset in every record, in the file's layout.
class VlenHeapRecords : public ::testing::TestWithParam<int> {};

TEST_P(VlenHeapRecords, StringFieldsOfRecordsHaveTheirHeapChecked) {
    TempDir dir;
    const auto path = (dir / "records.h5").string();
    {
        Handle f(h5::create_file(path));
        RecordArray r;
        r.n = 3;
        r.fields.emplace_back("index", StringArray{{3}, {"cell_a", "cell_b", "cell_c"}});
        r.fields.emplace_back("means", NdArray::from(std::vector<double>{0.5, 1.5, 2.5}));
        r.fields.emplace_back("gene_ids", StringArray{{3}, {"ENSG1", "ENSG2", "ENSG3"}});
        h5::write_compound(f, "var", r, {.gzip_level = GetParam(), .chunk_elems = 2});
    }
    const auto read = [&] {
        return error_of([&] {
            Handle f = h5::open_file_read(path);
            const auto r = h5::read_compound(h5::open_dataset(f, "var"));
            ASSERT_EQ(r.n, 3);
            EXPECT_EQ(std::get<StringArray>(r.fields[2].second).values[2], "ENSG3");
        });
    };
    ASSERT_EQ(read(), "");
    auto bytes = slurp(path);
    const auto gcol = renumber_first_heap_object(bytes);
    spit(path, bytes);
    EXPECT_EQ(read(), path + ":/var: string 0 names object 1 of the global heap at " + std::to_string(gcol) +
                          ", which has no such object (damaged file?)");
}

INSTANTIATE_TEST_SUITE_P(ContiguousAndDeflated, VlenHeapRecords, ::testing::Values(0, 4));

} // namespace
} // namespace scx
