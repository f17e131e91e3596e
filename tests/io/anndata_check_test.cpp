// One structural check for every path (issue 23, item 2): corrupt CSR and categorical codes
// are refused by the h5ad reader, by read_as_anndata (what convert reads through) and by every
// writer before it writes, each naming the file and the array, and leaving nothing behind.
// The hostile files are made here: a good file from our writer with one array replaced
// through the HDF5 API.
#include "scextract/io/anndata_check.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/dataset.hpp"
#include "scextract/io/h5ad_reader.hpp"
#include "scextract/io/h5ad_writer.hpp"
#include "scextract/io/hdf5.hpp"

#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace scx {
namespace {

namespace fs = std::filesystem;
using test::error_of;
using test::TempDir;

/// 4 cells x 5 genes, CSR X with 6 stored values, a categorical obs column of 3 categories.
AnnData good() {
    AnnData ad;
    ad.n_obs = 4;
    ad.n_vars = 5;
    CsrMatrix m;
    m.n_rows = 4;
    m.n_cols = 5;
    m.values = {1, 2, 3, 4, 5, 6};
    m.indices = {0, 3, 1, 4, 2, 0};
    m.indptr = {0, 2, 3, 5, 6};
    ad.X = from_csr(m);
    for (int i = 0; i < 4; ++i) ad.obs.index.push_back("c" + std::to_string(i));
    for (int j = 0; j < 5; ++j) ad.var.index.push_back("G" + std::to_string(j));
    Categorical ct;
    ct.codes = NdArray::from(std::vector<std::int8_t>{0, 1, 2, -1});
    ct.categories = StringArray{{3}, {"B", "T", "NK"}};
    ad.obs.set("cell_type", ct);
    return ad;
}

struct Hostile {
    std::string name;
    std::string dataset;  ///< HDF5 path of the array replaced
    NdArray replacement;
    std::string message;  ///< expected after "FILE: "
};

std::vector<Hostile> hostile_cases() {
    const auto i64 = [](std::vector<std::int64_t> v) { return NdArray::from(v); };
    const auto i32 = [](std::vector<std::int32_t> v) { return NdArray::from(v); };
    return {
        {"negative_indptr", "X/indptr", i64({0, -1, 3, 5, 6}), "X/indptr: decreases at row 0 (0 then -1)"},
        {"decreasing_indptr", "X/indptr", i64({0, 3, 2, 5, 6}), "X/indptr: decreases at row 1 (3 then 2)"},
        {"indptr_not_at_nnz", "X/indptr", i64({0, 2, 3, 5, 5}), "X/indptr: ends at 5 but there are 6 stored values"},
        {"indptr_not_from_zero", "X/indptr", i64({1, 2, 3, 5, 6}), "X/indptr: starts at 1, expected 0"},
        {"index_past_genes", "X/indices", i32({0, 3, 1, 5, 2, 0}), "X/indices: index 5 at position 3 is outside [0, 5)"},
        {"index_int_max", "X/indices", i32({0, std::numeric_limits<std::int32_t>::max(), 1, 4, 2, 0}),
         "X/indices: index 2147483647 at position 1 is outside [0, 5)"},
        {"negative_index", "X/indices", i32({0, 3, -7, 4, 2, 0}), "X/indices: index -7 at position 2 is outside [0, 5)"},
        {"float_indices", "X/indices", NdArray::from(std::vector<float>{0, 3, 1, 4, 2, 0}), "X/indices: must hold integers"},
        {"code_past_categories", "obs/cell_type/codes", NdArray::from(std::vector<std::int8_t>{0, 3, 2, -1}),
         "obs/cell_type/codes: code 3 at row 1 is outside [-1, 3) (3 categories)"},
        {"code_below_missing", "obs/cell_type/codes", NdArray::from(std::vector<std::int8_t>{0, 1, -2, -1}),
         "obs/cell_type/codes: code -2 at row 2 is outside [-1, 3)"},
    };
}

class HostileH5ad : public ::testing::TestWithParam<Hostile> {};

TEST_P(HostileH5ad, RefusedByTheReaderAndByConvertsReaderNamingFileAndArray) {
    const auto& c = GetParam();
    TempDir dir;
    const auto path = (dir.path() / (c.name + ".h5ad")).string();
    write_h5ad(good(), path);
    {
        h5::Handle f = h5::open_file_rw(path);
        const auto slash = c.dataset.rfind('/');
        h5::Handle parent = h5::open_group(f, c.dataset.substr(0, slash));
        const auto leaf = c.dataset.substr(slash + 1);
        h5::unlink_if_exists(parent, leaf);
        h5::write_ndarray(parent, leaf, c.replacement, {});
        h5::Handle d = h5::open_dataset(parent, leaf);
        h5::write_encoding(d, "array", "0.2.0");
    }
    const auto expected = path + ": " + c.message;
    std::vector<std::pair<std::string, std::function<void()>>> readers{
        {"read_h5ad", [&] { (void)read_h5ad(path); }}, {"read_as_anndata", [&] { (void)read_as_anndata(path); }}};
    // apply's metadata read (X streamed later) still sees the obs columns its copy would carry
    if (c.dataset.rfind("obs/", 0) == 0)
        readers.emplace_back("read_h5ad without X", [&] { (void)read_h5ad(path, {.read_X = false, .read_layers = false}); });
    for (const auto& [reader, fn] : readers) {
        const auto msg = error_of(fn);
        EXPECT_EQ(msg.rfind(expected, 0), 0U) << reader << ": " << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
}

INSTANTIATE_TEST_SUITE_P(Cases, HostileH5ad, ::testing::ValuesIn(hostile_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(AnnDataCheck, ZeroDimensionalSparsePartsAreNamedNotLeaked) {
    // issue 23, messages: a 0-d data / indices / indptr made every matrix reader take
    // `.at(0)` of an empty shape, and `vector::_M_range_check` reached the user
    TempDir dir;
    for (const std::string part : {"data", "indices", "indptr"}) {
        const auto path = (dir.path() / (part + ".h5ad")).string();
        write_h5ad(good(), path);
        {
            h5::Handle f = h5::open_file_rw(path);
            h5::Handle x = h5::open_group(f, "X");
            h5::unlink_if_exists(x, part);
            h5::write_ndarray(x, part, part == "data" ? NdArray::scalar(1.0F) : NdArray::scalar<std::int32_t>(0), {});
        }
        for (const auto& [reader, fn] : std::vector<std::pair<std::string, std::function<void()>>>{
                 {"read_h5ad", [&] { (void)read_h5ad(path); }},
                 {"read_h5ad_matrix", [&] { (void)read_h5ad_matrix(path, {}); }},
                 {"H5adRowReader", [&] { H5adRowReader r(path, {}); (void)r.read_rows(0, 4); }},
                 {"inspect_h5ad_matrix", [&] { (void)inspect_h5ad_matrix(path, {}); }}}) {
            std::string msg;
            try {
                fn();
                ADD_FAILURE() << reader << " accepted a 0-d X/" << part;
            } catch (const Error& e) {
                msg = e.what();
            } catch (const std::exception& e) {
                ADD_FAILURE() << reader << " leaked " << e.what();
            }
            if (msg.empty()) continue;
            EXPECT_NE(msg.find(path), std::string::npos) << reader << ": " << msg;
            EXPECT_NE(msg.find(part), std::string::npos) << reader << ": " << msg;
        }
    }
}

TEST(AnnDataCheck, TheGoodFileRoundTrips) {
    TempDir dir;
    const auto path = (dir.path() / "good.h5ad").string();
    write_h5ad(good(), path);
    const auto back = read_h5ad(path);
    EXPECT_NO_THROW(check_anndata(back, path));
    EXPECT_EQ(std::get<SparseArray>(*back.X).data.size(), 6);
}

TEST(AnnDataCheck, EveryWriterRefusesBeforeWritingAndLeavesNothing) {
    TempDir dir;
    const auto out = (dir.path() / "out.h5ad").string();
    const auto refused = [&](const AnnData& ad, const std::string& fragment) {
        const auto msg = error_of([&] { write_h5ad(ad, out); });
        EXPECT_EQ(msg.rfind(out + ": ", 0), 0U) << msg;
        EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
        EXPECT_TRUE(fs::is_empty(dir.path())) << fragment;
    };
    auto ad = good();
    std::get<SparseArray>(*ad.X).indptr = NdArray::from(std::vector<std::int32_t>{0, 4, 3, 5, 6});
    refused(ad, "X/indptr: decreases at row 1");
    ad = good();
    std::get<SparseArray>(*ad.X).indices = NdArray::from(std::vector<std::int32_t>{0, 3, 1, 9, 2, 0});
    refused(ad, "X/indices: index 9 at position 3");
    ad = good();
    std::get<Categorical>(ad.obs.columns[0].second).codes = NdArray::from(std::vector<std::int8_t>{0, 7, 2, -1});
    refused(ad, "obs/cell_type/codes: code 7 at row 1");
    ad = good();
    std::get<Categorical>(ad.obs.columns[0].second).categories = StringArray{{3}, {"B", "T", "B"}};
    refused(ad, "obs/cell_type/categories: category 'B' appears twice");
    ad = good();
    ad.obs.set("short", NdArray::from(std::vector<double>{1, 2, 3}));
    refused(ad, "obs/short: has 3 rows but the index has 4");
    ad = good();
    ad.layers.set("counts", Element{from_csr(CsrMatrix{.n_rows = 4, .n_cols = 4, .values = {}, .indices = {}, .indptr = {0, 0, 0, 0, 0}})});
    refused(ad, "layers/counts: has shape (4, 4) but the object is (4, 5)");
    ad = good();
    Mapping nested;
    auto bad = std::get<SparseArray>(*good().X);
    bad.indptr = NdArray::from(std::vector<std::int32_t>{0, 2, 3, 5, 7});
    nested.set("graph", Element{bad});
    ad.uns.set("deep", Element{nested});
    refused(ad, "uns/deep/graph/indptr: ends at 7 but there are 6 stored values");

    // the amending writer (apply's in-memory path) checks what it adds
    const auto input = (dir.path() / "in.h5ad").string();
    write_h5ad(good(), input);
    H5adAdditions add;
    Categorical k;
    k.codes = NdArray::from(std::vector<std::int32_t>{0, 0, 5, 0});
    k.categories = StringArray{{1}, {"x"}};
    add.obs_columns.emplace_back("scx_stage", k);
    const auto msg = error_of([&] { write_h5ad_with_additions(input, out, add); });
    EXPECT_EQ(msg.rfind(out + ": new obs/scx_stage/codes: code 5 at row 2", 0), 0U) << msg;
    EXPECT_FALSE(fs::exists(out));
}

} // namespace
} // namespace scx
